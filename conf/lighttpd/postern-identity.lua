-- postern-identity.lua: lighttpd mod_magnet script (magnet.attract-physical-path-to) that
-- replaces client-supplied identity headers by the identity postern-authorizer answered.
--
-- lighttpd 1.4.69 runs physical-path scripts twice for a request with an authorizer: once
-- BEFORE postern-authorizer is asked (req_env holds no identity yet) and once after its 200
-- (req_env holds every Variable-X of the answer as X). Both passes strip; only the second
-- finds an identity to set. Nothing set here can reach the authorizer as a credential.

local req_header = lighty.r.req_header
local env = lighty.r.req_env

-- Identity headers we own, in any case and with '-' or '_' (backends such as WSGI/CGI
-- gateways fold X_Postern_User and X-Postern-User into the same HTTP_X_POSTERN_USER).
-- X-Postern-Share-Key is a credential the authorizer reads (shared links): it is kept,
-- like Authorization and Cookie.
local function owned(name)
	local n = name:lower():gsub("_", "-")
	if n == "x-postern-share-key" then
		return false
	end
	return n:find("^x%-postern%-") ~= nil or n:find("^variable%-") ~= nil
		or n == "x-remote-user" or n == "remote-user" or n == "x-forwarded-user"
end

local drop = {}
for name, _ in pairs(req_header) do
	if owned(name) then
		drop[#drop + 1] = name
	end
end
for _, name in ipairs(drop) do
	req_header[name] = nil
end

local map = {
	{ "X-Postern-User", "POSTERN_USER" },
	{ "X-Postern-User-Id", "POSTERN_USER_ID" },
	{ "X-Postern-Role", "POSTERN_ROLE" },
	{ "X-Postern-Auth", "POSTERN_AUTH" },
	{ "X-Postern-Permissions", "POSTERN_PERMISSIONS" },
	{ "X-Postern-Session-Id", "POSTERN_SESSION_ID" },
	{ "X-Postern-Key-Id", "POSTERN_KEY_ID" },
	{ "X-Postern-Link-Id", "POSTERN_LINK_ID" },
	{ "X-Postern-Mfa", "POSTERN_MFA" },
}
for _, m in ipairs(map) do
	local v = env[m[2]]
	if v ~= nil and v ~= "" then
		req_header[m[1]] = v
	end
end
return 0

/* fuzz_config: the `key = value` config parser on arbitrary bytes. */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char err[CONFIG_ERR_MAX];
	struct config cfg;

	if (config_init(&cfg) != 0)
		return 0;
	config_parse(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof err);
	config_free(&cfg);
	return 0;
}

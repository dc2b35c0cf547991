"""The login page in a real browser (headless Chromium through selenium): open a protected
page, land on the login page, sign in, reach the page, sign out, be sent back."""
import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import servers
from test_responder import site  # noqa: F401

PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="postern-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_title(driver, title):
    try:
        WebDriverWait(driver, 15).until(EC.title_is(title))
    except Exception:
        raise AssertionError(f"expected page {title!r}, at {driver.current_url}: "
                             f"{driver.page_source[:2000]}")


def test_sign_in_and_out_in_a_browser(site, browser):
    site.db.query("SELECT postern.create_user('web@example.com', %s)", (PASSWORD,))
    browser.get(site.url + "/app.html")
    wait_title(browser, "Sign in")
    assert browser.current_url == site.url + "/auth/login?return_to=/app.html"
    # a wrong password shows the error on the page and keeps the user there
    browser.find_element(By.ID, "email").send_keys("web@example.com")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.error"), "Wrong email or password."))
    for field, value in (("email", "web@example.com"), ("password", PASSWORD)):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_title(browser, "Protected app")
    assert browser.current_url == site.url + "/app.html"
    cookie = browser.get_cookie("postern_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    browser.find_element(By.ID, "signout").click()
    wait_title(browser, "Sign in")
    assert browser.get_cookie("postern_session") is None
    assert site.db.value("SELECT revoked_reason FROM postern.sessions") == "logout"
    # a new request for the page (the browser may keep the old response in its cache, as it
    # may for any page whose server does not send Cache-Control) is sent to the login page
    servers.eventually(lambda: (browser.get(site.url + "/app.html?again"), browser.title)[1],
                       lambda title: title == "Sign in", what="the signed-out page")
    assert browser.current_url == site.url + "/auth/login?return_to=/app.html%3Fagain"

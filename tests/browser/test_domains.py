"""Sending domains in a real browser: add a domain, see the records to publish, and the DNS
check against a real DNS server on loopback (dnsmasq) with records present, missing and wrong."""
import os
import shutil
import tempfile

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Herald, login
from herald_process import DNS, Server, free_port


@pytest.fixture
def dns_herald():
    """A server of its own whose DNS check asks a dnsmasq on loopback."""
    workdir = tempfile.mkdtemp(prefix="herald-domains-")
    dns_server = DNS(free_port())
    dns_server.serve([])
    server = Server(["--database", os.path.join(workdir, "h.sqlite"), "--dns-server", f"127.0.0.1:{dns_server.port}",
                     "--bounce-domain", "bounce.example.com"], workdir)
    yield Herald(server.url, server.email, server.password, workdir, server.log_path), dns_server
    server.stop()
    dns_server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def row(driver, purpose, index=0):
    return driver.find_elements(By.CSS_SELECTOR, f"#dns-records tr[data-purpose='{purpose}']")[index]


def test_a_domain_is_added_its_records_shown_and_checked(driver_factory, dns_herald):
    herald, dns_server = dns_herald
    driver = driver_factory()
    login(driver, herald)
    driver.get(herald.url + "/admin/domains")
    assert "No sending domain yet" in driver.find_element(By.ID, "domains-table").text
    # A name that is no domain is refused beside its field.
    driver.find_element(By.ID, "d-domain").send_keys("not a domain")
    driver.find_element(By.CSS_SELECTOR, "#domain-form button[type=submit]").click()
    assert "is not a domain name" in WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "e-domain"))).text
    field = driver.find_element(By.ID, "d-domain")
    field.clear()
    field.send_keys("example.com")
    driver.find_element(By.CSS_SELECTOR, "input[name=ed25519]").click()
    driver.find_element(By.CSS_SELECTOR, "#domain-form button[type=submit]").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "dns-records")))
    assert driver.find_element(By.CSS_SELECTOR, "h1").text.startswith("example.com")
    purposes = [tr.get_attribute("data-purpose") for tr in driver.find_elements(By.CSS_SELECTOR, "#dns-records tbody tr")]
    assert purposes == ["DKIM", "DKIM", "SPF", "DMARC", "Bounce MX"]
    # Each value has a copy button (shown by the script) and reads in full.
    assert all(button.is_displayed() for button in driver.find_elements(By.CSS_SELECTOR, "button[data-copy]"))
    rsa_name = row(driver, "DKIM", 0).find_element(By.CSS_SELECTOR, "code").text
    rsa_value = row(driver, "DKIM", 0).find_element(By.CSS_SELECTOR, "textarea").get_attribute("value")
    ed_name = row(driver, "DKIM", 1).find_element(By.CSS_SELECTOR, "code").text
    assert rsa_value.startswith("v=DKIM1; k=rsa; p=MIIB") and "PRIVATE" not in driver.page_source
    assert "p=none" in row(driver, "DMARC").find_element(By.CSS_SELECTOR, "textarea").get_attribute("value")

    # DNS: the RSA key as shown, another Ed25519 key, no SPF, a DMARC policy.
    dns_server.serve([(rsa_name, rsa_value), (ed_name, "v=DKIM1; k=ed25519; p=NOTTHISONE"),
                      ("_dmarc.example.com", "v=DMARC1; p=quarantine")])
    driver.find_element(By.ID, "check-dns").click()
    WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#dns-records tr[data-verdict]")))
    verdicts = {(tr.get_attribute("data-purpose"), tr.get_attribute("data-verdict"))
                for tr in driver.find_elements(By.CSS_SELECTOR, "#dns-records tbody tr")}
    assert verdicts == {("DKIM", "found"), ("DKIM", "wrong"), ("SPF", "missing"), ("DMARC", "found"), ("Bounce MX", "missing")}
    assert "published as Herald made it" in row(driver, "DKIM", 0).text
    assert "p=NOTTHISONE" in row(driver, "DKIM", 1).text  # what DNS has, shown beside
    assert "policy p=quarantine" in row(driver, "DMARC").text
    # One key of two is found: the domain is not verified yet.
    assert "not verified" in driver.find_element(By.CSS_SELECTOR, "h1").text

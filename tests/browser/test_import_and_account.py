"""CSV import through the pages, and the account pages."""
import os

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def count(driver, name):
    return int(driver.find_element(By.CSS_SELECTOR, f"#import-report dd[data-count={name}]").text)


def upload(driver, herald, module, name, text):
    path = os.path.join(herald.workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    driver.get(f"{herald.url}/m/{module}/import")
    driver.find_element(By.ID, "csv-file").send_keys(path)
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "mapping-form")))


def test_csv_import_with_mapping_dry_run_and_report(admin, herald):
    csv = ("Surname,Given name,E-mail,Country,Notes\r\n"
           "Lovelace,Ada,ada@example.org,United Kingdom,first\r\n"
           "Hopper,Grace,not-an-email,United States,second\r\n"
           "Turing,Alan,alan@example.org,United Kingdom,third\r\n")
    upload(admin, herald, "contacts", "people.csv", csv)
    selects = admin.find_elements(By.CSS_SELECTOR, "#mapping-form select[name^=map_]")
    assert len(selects) == 5
    # Each column starts on the field its header means, by name in any spelling or by a common
    # other name; "Notes" names none and is left out.
    guessed = [Select(s).first_selected_option.get_attribute("value") for s in selects]
    assert guessed == ["last_name", "first_name", "email", "mailing_country", ""]

    admin.find_element(By.CSS_SELECTOR, "#mapping-form button[value=check]").click()
    wait(admin).until(EC.presence_of_element_located((By.ID, "import-report")))
    assert count(admin, "rows_read") == 3
    assert count(admin, "failed") == 1
    errors = admin.find_element(By.CSS_SELECTOR, "#import-report table.row-errors").text
    assert "3" in errors and "email" in errors and "not a valid email address" in errors

    # The mapping survives the dry run; import the good rows in batches.
    admin.find_element(By.CSS_SELECTOR, "input[name=atomic][value=false]").click()
    admin.find_element(By.CSS_SELECTOR, "#mapping-form button[value=import]").click()
    wait(admin).until(EC.title_contains("Import report"))
    assert count(admin, "created") == 2
    assert count(admin, "failed") == 1

    admin.get(herald.url + "/m/contacts?q=Lovelace")
    assert "Lovelace" in admin.find_element(By.CSS_SELECTOR, "table.records tbody").text


def test_import_with_a_wrong_header_is_explained(admin, herald):
    upload(admin, herald, "contacts", "bad.csv", "Email\r\nx@example.org\r\n")
    admin.find_element(By.CSS_SELECTOR, "#mapping-form button[value=check]").click()
    box = wait(admin).until(EC.presence_of_element_located((By.ID, "import-problems")))
    assert "last_name" in box.text
    # Cancelling deletes the upload: its page is gone.
    upload_url = herald.url + admin.find_element(By.ID, "mapping-form").get_dom_attribute("action")
    admin.find_element(By.CSS_SELECTOR, "#mapping-form button[value=cancel]").click()
    wait(admin).until(EC.url_matches(r"/m/contacts$"))
    admin.get(upload_url)
    assert "404" in admin.find_element(By.CSS_SELECTOR, "h1").text


def test_api_token_is_shown_once_and_revoked(admin, herald):
    admin.get(herald.url + "/account")
    admin.find_element(By.ID, "t-name").send_keys("browser test")
    admin.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    secret = wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#new-token input"))).get_attribute("value")
    assert secret.startswith("hrd_")
    admin.get(herald.url + "/account")
    assert secret not in admin.page_source
    admin.execute_script("window.confirm = () => true;")
    admin.find_element(By.CSS_SELECTOR, "#tokens-table button.danger").click()
    wait(admin).until(EC.presence_of_element_located((By.XPATH, "//table[@id='tokens-table']//span[contains(., 'revoked')]")))


def test_admin_creates_a_user(admin, herald):
    admin.get(herald.url + "/account")
    admin.find_element(By.ID, "u-name").send_keys("Bea Sales")
    admin.find_element(By.ID, "u-email").send_keys("bea@example.org")
    admin.find_element(By.ID, "u-password").send_keys("short")
    admin.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    assert "at least 10 characters" in wait(admin).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "#user-form .field-error"))).text
    admin.find_element(By.ID, "u-password").send_keys("a-long-enough-password")
    admin.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.flash")))
    assert "bea@example.org" in admin.find_element(By.ID, "users-table").text


def test_admin_manages_a_user(admin, herald):
    admin.get(herald.url + "/account")
    admin.find_element(By.ID, "u-name").send_keys("Cleo Field")
    admin.find_element(By.ID, "u-email").send_keys("cleo@example.org")
    admin.find_element(By.ID, "u-password").send_keys("cleo-password-1")
    admin.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.flash")))
    admin.find_element(By.LINK_TEXT, "Cleo Field").click()
    wait(admin).until(EC.presence_of_element_located((By.ID, "user-edit-form")))
    assert "owns nothing" in admin.find_element(By.ID, "holdings").text

    # A bad time zone is explained at its field; nothing changes.
    zone = admin.find_element(By.ID, "e-zone")
    zone.clear()
    zone.send_keys("Mars/Olympus")
    admin.find_element(By.CSS_SELECTOR, "#user-edit-form button[type=submit]").click()
    assert "not a time zone" in wait(admin).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "#user-edit-form .field-error"))).text

    zone = admin.find_element(By.ID, "e-zone")
    zone.clear()
    zone.send_keys("Asia/Kolkata")
    Select(admin.find_element(By.ID, "e-active")).select_by_value("no")
    admin.find_element(By.CSS_SELECTOR, "#user-edit-form button[type=submit]").click()
    # Each step waits for its own words: the flash of the step before may still be on screen.
    wait(admin).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.flash"), "deactivated"))
    assert admin.find_element(By.ID, "e-zone").get_attribute("value") == "Asia/Kolkata"

    # A new password, confirmed in the page's own dialog.
    admin.find_element(By.ID, "e-password").send_keys("cleo-password-2")
    admin.execute_script("window.confirm = () => true;")
    admin.find_element(By.CSS_SELECTOR, "#user-password-form button[type=submit]").click()
    wait(admin).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "p.flash"), "Set a new password"))

    admin.get(herald.url + "/account")
    row = admin.find_element(By.XPATH, "//table[@id='users-table']//tr[contains(., 'cleo@example.org')]")
    assert "No" in row.text and "Asia/Kolkata" in row.text

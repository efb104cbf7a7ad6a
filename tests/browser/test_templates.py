"""Herald in a real browser: writing a template with the merge-field picker, and previewing it."""
import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def test_template_with_picker_error_save_and_preview(admin, herald):
    admin.get(herald.url + "/m/contacts/templates")
    admin.find_element(By.ID, "new-template").click()
    wait(admin).until(EC.url_contains("/m/contacts/templates/new"))

    admin.find_element(By.ID, "t-name").send_keys("Browser welcome")
    subject = admin.find_element(By.ID, "t-subject")
    subject.send_keys("Hello {{frist_name}}")
    html = admin.find_element(By.ID, "t-html")
    html.clear()
    html.send_keys("<p>Dear ")
    # The picker inserts the tag where the cursor is, in the field last focused.
    admin.find_element(By.CSS_SELECTOR, "button.merge-field[data-tag='{{first_name}}']").click()
    html.send_keys(",</p>")
    assert html.get_attribute("value") == "<p>Dear {{first_name}},</p>"

    # The unknown field in the subject is shown beside the subject, with where it is.
    admin.find_element(By.ID, "save-template").click()
    error = wait(admin).until(EC.presence_of_element_located((By.ID, "e-subject")))
    assert "line 1, column 7: unknown merge field 'frist_name'" in error.text
    assert admin.find_element(By.ID, "t-html").get_attribute("value") == "<p>Dear {{first_name}},</p>"

    subject = admin.find_element(By.ID, "t-subject")
    subject.clear()
    subject.send_keys("Hello ")
    admin.find_element(By.CSS_SELECTOR, "button.merge-field[data-tag='{{first_name}}']").click()
    assert subject.get_attribute("value") == "Hello {{first_name}}"
    admin.find_element(By.ID, "save-template").click()
    wait(admin).until(EC.url_matches(r"/m/contacts/templates/\d+$"))
    assert "Template saved" in admin.find_element(By.CSS_SELECTOR, "p.flash").text

    # Preview with the first record of the drop-down.
    records = Select(admin.find_element(By.ID, "t-record-choice"))
    records.select_by_index(1)
    label = records.first_selected_option.text  # "#12 Ada Lovelace"
    first_name = re.match(r"#\d+ (\S+)", label).group(1)
    admin.find_element(By.ID, "preview-button").click()
    shown = wait(admin).until(EC.visibility_of_element_located((By.ID, "preview-subject")))
    wait(admin).until(lambda d: shown.text != "")
    assert shown.text == f"Hello {first_name}"
    assert admin.find_element(By.ID, "preview-html").get_attribute("sandbox") == ""
    assert f"Dear {first_name}," in admin.find_element(By.ID, "preview-html").get_attribute("srcdoc")
    assert admin.find_element(By.ID, "preview-text").text == f"Dear {first_name},"

    admin.get(herald.url + "/m/contacts/templates")
    assert "Browser welcome" in admin.find_element(By.ID, "templates-table").text

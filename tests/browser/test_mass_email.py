"""Mass email in a real browser: from ticked contacts to a scheduled mass email, stopped
from the summary page."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def ensure_sender(driver, herald):
    """The admin adds a sender address on the Senders page unless the demo has one."""
    driver.get(herald.url + "/api/v1/senders")
    if "@" in driver.find_element(By.TAG_NAME, "body").text:
        return
    driver.get(herald.url + "/admin/senders")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/admin/senders']")
    form.find_element(By.NAME, "email").send_keys("news@demo.example")
    form.find_element(By.NAME, "name").send_keys("Demo News")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "news@demo.example"))


def test_tick_contacts_create_a_template_inline_schedule_and_stop(admin, herald):
    ensure_sender(admin, herald)
    admin.get(herald.url + "/m/contacts")
    boxes = admin.find_elements(By.CSS_SELECTOR, "table.records tbody input[name=ids]")
    for box in boxes[:3]:
        box.click()
    admin.find_element(By.CSS_SELECTOR, "#more-menu summary").click()
    admin.find_element(By.ID, "mass-email-selected").click()

    wait(admin).until(EC.presence_of_element_located((By.ID, "mass-email-form")))
    recipients = Select(admin.find_element(By.ID, "me-recipients"))
    assert recipients.first_selected_option.text == "The 3 selected Contacts"
    # Everyone is a choice too, last, so that a choice left alone never mails everyone.
    assert recipients.options[-1].text == "All Contacts"
    admin.find_element(By.ID, "me-name").send_keys("Browser launch")
    details = admin.find_element(By.ID, "new-template")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    admin.find_element(By.ID, "nt-name").send_keys("Browser template")
    admin.find_element(By.ID, "nt-subject").send_keys("Hello {{first_name}}")
    admin.find_element(By.ID, "nt-html").send_keys("<p>Dear {{first_name | \"friend\"}}</p>")
    admin.find_element(By.CSS_SELECTOR, "input[name=send][value=later]").click()
    # Tomorrow 09:00 in the form's default zone (the user's own) is in the future.
    admin.find_element(By.ID, "save-mass-email").click()

    # The page of a scheduled mass email reloads itself every 3 s: its status is read in the
    # wait, retried if the element goes stale under a reload.
    status = wait(admin).until(lambda _: admin.find_element(By.CSS_SELECTOR, "h1 .status").text)
    assert status == "scheduled"
    # Before it starts, how many records its recipients select now.
    selected = wait(admin).until(lambda _: admin.find_element(By.ID, "selected-now").text)
    assert selected.startswith("3 Contacts selected now;")
    page = admin.current_url

    admin.get(herald.url + "/mass-emails?tab=scheduled")
    row = admin.find_element(By.XPATH, "//table[contains(@class,'mass-emails')]//tr[.//a[text()='Browser launch']]")
    assert "Contacts" in row.text
    row.find_element(By.CSS_SELECTOR, "form[action$='/stop'] button").click()
    wait(admin).until(EC.alert_is_present()).accept()  # "Stop …? Messages not yet sent will not be sent."
    wait(admin).until(EC.url_contains("tab=stopped"))
    assert admin.find_element(By.XPATH, "//table[contains(@class,'mass-emails')]//a[text()='Browser launch']")
    admin.get(page)
    assert admin.find_element(By.CSS_SELECTOR, "h1 .status").text == "stopped"


def test_a_past_time_is_refused_on_the_form(admin, herald):
    ensure_sender(admin, herald)
    admin.get(herald.url + "/mass-emails/new?module=contacts")
    admin.find_element(By.ID, "me-name").send_keys("Too late")
    Select(admin.find_element(By.ID, "me-recipients")).select_by_index(0)
    template = Select(admin.find_element(By.ID, "me-template"))
    if len(template.options) > 1:
        template.select_by_index(1)
    admin.find_element(By.CSS_SELECTOR, "input[name=send][value=later]").click()
    date = admin.find_element(By.NAME, "date")
    admin.execute_script("arguments[0].value = '2020-01-01'", date)
    admin.find_element(By.ID, "save-mass-email").click()
    errors = wait(admin).until(EC.presence_of_element_located((By.ID, "mass-email-errors")))
    assert "in the past" in errors.text

"""Follow-up actions in the mass email form, and tasks on a record and in "My tasks", in a
real browser."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS

from test_mass_email import ensure_sender


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def row(driver, i):
    return driver.find_element(By.CSS_SELECTOR, f".trigger-row[data-row='{i}']")


def choose(driver, name, text):
    Select(driver.find_element(By.NAME, name)).select_by_visible_text(text)


def start_form(driver, herald, name):
    ensure_sender(driver, herald)
    driver.get(herald.url + "/mass-emails/new?module=contacts")
    driver.find_element(By.ID, "me-name").send_keys(name)
    Select(driver.find_element(By.ID, "me-recipients")).select_by_index(0)
    template = Select(driver.find_element(By.ID, "me-template"))
    if len(template.options) > 1:
        template.select_by_index(1)
    else:
        details = driver.find_element(By.ID, "new-template")
        if details.get_attribute("open") is None:
            details.find_element(By.TAG_NAME, "summary").click()
        driver.find_element(By.ID, "nt-name").send_keys(name + " template")
        driver.find_element(By.ID, "nt-subject").send_keys("Hello")
        driver.find_element(By.ID, "nt-html").send_keys("<p>Hello</p>")


def save_as_draft(driver):
    driver.find_element(By.CSS_SELECTOR, "input[name=send][value=draft]").click()
    driver.find_element(By.ID, "save-mass-email").click()


def test_trigger_actions_in_the_create_form_show_in_the_summary(admin, herald):
    start_form(admin, herald, "Browser follow-ups")
    assert "No follow-up actions" in admin.find_element(By.ID, "action-summary").text

    admin.find_element(By.ID, "trigger-action").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".trigger-row[data-row='0']")))
    # What was typed before survives the round trip.
    assert admin.find_element(By.ID, "me-name").get_attribute("value") == "Browser follow-ups"
    choose(admin, "ta0_event", "Opened")
    choose(admin, "ta0_action", "Add a follow-up task")
    # Only the task's fields show once the task is chosen.
    assert row(admin, 0).find_element(By.NAME, "ta0_subject").is_displayed()
    assert not row(admin, 0).find_element(By.NAME, "ta0_value").is_displayed()
    admin.find_element(By.NAME, "ta0_subject").send_keys("Call back")
    days = admin.find_element(By.NAME, "ta0_due_days")
    days.clear()
    days.send_keys("2")
    choose(admin, "ta0_priority", "High")

    admin.find_element(By.ID, "trigger-action").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".trigger-row[data-row='1']")))
    choose(admin, "ta1_event", "Bounced")
    # A bounce offers a field update only.
    options = {o.text: o.get_attribute("disabled") for o in Select(admin.find_element(By.NAME, "ta1_action")).options}
    assert options["Add a follow-up task"] and options["Schedule a call"] and not options["Update a field"]
    choose(admin, "ta1_action", "Update a field")
    choose(admin, "ta1_field", "Email Opt Out (Boolean)")
    admin.find_element(By.NAME, "ta1_value").send_keys("true")
    # The refresh posts the form and the page comes back: wait for the old summary to go
    # before reading the new one, or the read can land on the page being replaced.
    before = admin.find_element(By.ID, "action-summary")
    admin.find_element(By.ID, "refresh-actions").click()
    wait(admin).until(EC.staleness_of(before))
    summary = wait(admin).until(EC.presence_of_element_located((By.ID, "action-summary")))
    assert "When opened: add the task “Call back”, due 2 days after, Not started, High priority, for the record's owner" in summary.text
    assert "When bounced: set Email Opt Out to “true”" in summary.text

    save_as_draft(admin)
    actions = wait(admin).until(EC.presence_of_element_located((By.ID, "trigger-actions")))
    assert "When opened: add the task “Call back”" in actions.text
    assert "When bounced: set Email Opt Out to “true”" in actions.text


def test_a_bounce_that_adds_a_task_is_refused_without_javascript(driver_factory, herald):
    from conftest import login
    driver = driver_factory(javascript=False)
    login(driver, herald)
    start_form(driver, herald, "No script follow-ups")
    driver.find_element(By.ID, "trigger-action").click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".trigger-row[data-row='0']")))
    choose(driver, "ta0_event", "Bounced")
    choose(driver, "ta0_action", "Add a follow-up task")
    driver.find_element(By.NAME, "ta0_subject").send_keys("Call")
    save_as_draft(driver)
    errors = wait(driver).until(EC.presence_of_element_located((By.ID, "action-errors")))
    assert "Action 1, action: 'bounced' can only update a field" in errors.text


def test_a_task_added_on_a_record_is_in_my_tasks_until_done(admin, herald):
    admin.get(herald.url + "/m/contacts")
    admin.find_element(By.CSS_SELECTOR, "table.records tbody tr td a").click()
    wait(admin).until(EC.presence_of_element_located((By.ID, "tasks")))
    record = admin.current_url
    admin.find_element(By.CSS_SELECTOR, "#tasks details summary").click()
    form = admin.find_element(By.ID, "add-task")
    form.find_element(By.NAME, "subject").send_keys("Browser task")
    admin.execute_script("arguments[0].value = '2030-01-15'", form.find_element(By.NAME, "due_date"))
    Select(form.find_element(By.NAME, "priority")).select_by_visible_text("High")
    page = admin.find_element(By.TAG_NAME, "main")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(admin).until(EC.staleness_of(page))
    tasks = wait(admin).until(EC.presence_of_element_located((By.ID, "record-tasks")))
    assert "Browser task" in tasks.text and "2030-01-15" in tasks.text

    admin.find_element(By.ID, "nav-tasks").click()
    mine = wait(admin).until(EC.presence_of_element_located((By.ID, "my-tasks")))
    line = mine.find_element(By.XPATH, ".//tr[td[contains(., 'Browser task')]]")
    assert "Not started" in line.text and "High" in line.text
    line.find_element(By.XPATH, ".//td/a").click()
    assert wait(admin).until(EC.url_to_be(record))

    admin.get(herald.url + "/tasks")
    # Done posts and comes back to /tasks: the URL does not change, so wait for the page to.
    page = admin.find_element(By.TAG_NAME, "main")
    admin.find_element(By.XPATH, "//table[@id='my-tasks']//tr[td[contains(., 'Browser task')]]//button").click()
    wait(admin).until(EC.staleness_of(page))
    assert "Browser task" not in admin.find_element(By.TAG_NAME, "main").text
    admin.get(herald.url + "/tasks?show=all")
    done = admin.find_element(By.XPATH, "//table[@id='my-tasks']//tr[td[contains(., 'Browser task')]]")
    assert "Completed" in done.text

"""Follow-up emails in the mass email form, in a real browser: two follow-ups with exclusion
rules, scheduled, shown in words on the mass email's page and under it on the summary, and
again in the edit form."""
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS

from test_trigger_actions import choose, save_as_draft, start_form


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def ensure_template(driver, herald, name, subject="Did you see our news?", html="<p>Just a reminder.</p>"):
    """A Contacts template called `name`, made on the templates page unless there is one."""
    driver.get(herald.url + "/m/contacts/templates")
    if name in driver.find_element(By.TAG_NAME, "main").text:
        return
    driver.find_element(By.ID, "new-template").click()
    wait(driver).until(EC.url_contains("/m/contacts/templates/new"))
    driver.find_element(By.ID, "t-name").send_keys(name)
    driver.find_element(By.ID, "t-subject").send_keys(subject)
    box = driver.find_element(By.ID, "t-html")
    box.clear()
    box.send_keys(html)
    driver.find_element(By.ID, "save-template").click()
    wait(driver).until(EC.url_matches(r"/m/contacts/templates/\d+$"))


def follow_up(driver, i):
    return driver.find_element(By.CSS_SELECTOR, f".follow-up[data-follow-up='{i}']")


def left_the_page(element):
    """Whether `element` is gone with the page it was on. Asked in the middle of the page
    change, chromedriver may answer "does not belong to the document" instead of a stale
    element: that is gone too."""
    try:
        element.is_enabled()
        return False
    except WebDriverException:
        return True


def press(driver, css, then):
    """Presses one of the section's buttons (the form is posted and drawn again) and waits
    for `then` on the new page."""
    old = driver.find_element(By.ID, "follow-ups")
    driver.find_element(By.CSS_SELECTOR, css).click()
    wait(driver).until(lambda _: left_the_page(old))
    return wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, then)))


def test_two_follow_ups_with_rules_are_scheduled_and_shown_in_words(admin, herald):
    ensure_template(admin, herald, "Reminder")
    start_form(admin, herald, "Browser follow-up emails")
    assert "No follow-ups." in admin.find_element(By.ID, "follow-up-summary").text

    # Follow-up 1: 3 days after sending, not to those who opened or replied.
    press(admin, "#add-follow-up", ".follow-up[data-follow-up='0']")
    assert admin.find_element(By.ID, "me-name").get_attribute("value") == "Browser follow-up emails"
    choose(admin, "fu0_template_id", "Reminder")
    assert admin.find_element(By.NAME, "fu0_amount").get_attribute("value") == "3"
    assert Select(admin.find_element(By.NAME, "fu0_after")).first_selected_option.text == "after sending"
    press(admin, "button[name=add_rule][value='0']", "select[name=fu0_r0_kind]")
    choose(admin, "fu0_r0_kind", "Opened")
    # The rule is an engagement: the boxes of a field condition hide.
    assert not admin.find_element(By.NAME, "fu0_r0_value").is_displayed()
    # The plus adds a second rule; what was chosen survives the round trip.
    press(admin, "button[name=add_rule][value='0']", "select[name=fu0_r1_kind]")
    assert Select(admin.find_element(By.NAME, "fu0_r0_kind")).first_selected_option.text == "Opened"
    assert Select(admin.find_element(By.NAME, "fu0_template_id")).first_selected_option.text == "Reminder"
    choose(admin, "fu0_r1_kind", "Replied")
    choose(admin, "fu0_match", "any")

    # Follow-up 2: 1 day after the previous one, not to those in Germany, as a reply.
    press(admin, "#add-follow-up", ".follow-up[data-follow-up='1']")
    assert Select(admin.find_element(By.NAME, "fu0_r1_kind")).first_selected_option.text == "Replied"
    choose(admin, "fu1_template_id", "Reminder")
    amount = admin.find_element(By.NAME, "fu1_amount")
    amount.clear()
    amount.send_keys("1")
    choose(admin, "fu1_after", "after the previous follow-up")
    press(admin, "button[name=add_rule][value='1']", "select[name=fu1_r0_kind]")
    choose(admin, "fu1_r0_kind", "A field of the record matches")
    assert admin.find_element(By.NAME, "fu1_r0_value").is_displayed()
    choose(admin, "fu1_r0_field", "Mailing Country (Text)")
    choose(admin, "fu1_r0_op", "is")
    admin.find_element(By.NAME, "fu1_r0_value").send_keys("Germany")
    follow_up(admin, 1).find_element(By.NAME, "fu1_threaded").click()

    summary = press(admin, "#refresh-follow-ups", "#follow-up-summary")
    first = "Follow-up 1: 3 days after sending, template “Reminder”, not to those who opened or replied"
    second = ("Follow-up 2: 1 day after the previous follow-up, template “Reminder”, "
              "not to those who match “Mailing Country is Germany”, as a reply")
    assert first in summary.text
    assert second in summary.text

    # Schedule it (tomorrow 09:00 in the user's zone, the form's default).
    admin.find_element(By.CSS_SELECTOR, "input[name=send][value=later]").click()
    admin.find_element(By.ID, "save-mass-email").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "h1 .status")))

    # The mass email's page lists them with their status; so does the summary, under it.
    # A scheduled mass email's page reloads itself every 3 s: read it whole in one wait,
    # retried when its elements go stale under the reload.
    status, table, statuses = wait(admin).until(lambda _: (
        admin.find_element(By.CSS_SELECTOR, "h1 .status").text, admin.find_element(By.ID, "follow-up-table").text,
        [s.text for s in admin.find_elements(By.CSS_SELECTOR, "#follow-up-table .status")]))
    assert status == "scheduled"
    assert first in table and second in table
    assert statuses == ["pending", "pending"]
    page = admin.current_url.split("?")[0]
    admin.get(herald.url + "/mass-emails?tab=scheduled")
    mass_email = page.rsplit("/", 1)[1]
    rows = admin.find_elements(By.CSS_SELECTOR, f"tr.follow-up-row[data-id='{mass_email}']")
    assert len(rows) == 2
    assert "3 days after sending" in rows[0].text and "1 day after the previous follow-up" in rows[1].text

    # The edit form shows what was saved.
    admin.get(page + "/edit")
    summary = wait(admin).until(EC.presence_of_element_located((By.ID, "follow-up-summary")))
    assert first in summary.text
    assert second in summary.text
    assert follow_up(admin, 1).find_element(By.NAME, "fu1_threaded").is_selected()
    assert admin.find_element(By.NAME, "fu1_r0_value").get_attribute("value") == "Germany"


def test_a_follow_up_without_a_template_is_refused_beside_it_without_javascript(driver_factory, herald):
    from conftest import login
    driver = driver_factory(javascript=False)
    login(driver, herald)
    start_form(driver, herald, "No script follow-up")
    press(driver, "#add-follow-up", ".follow-up[data-follow-up='0']")
    press(driver, "button[name=add_rule][value='0']", "select[name=fu0_r0_kind]")
    # Without JavaScript a new rule shows every box, a field condition's too.
    choose(driver, "fu0_r0_kind", "A field of the record matches")
    choose(driver, "fu0_r0_field", "Mailing Country (Text)")
    choose(driver, "fu0_r0_op", "is any of")
    driver.find_element(By.NAME, "fu0_r0_value").send_keys("Germany, Austria")
    save_as_draft(driver)
    box = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#follow-up-1 .error-box")))
    assert "Follow-up 1, template: is required" in box.text
    assert driver.find_element(By.NAME, "fu0_r0_value").get_attribute("value") == "Germany, Austria"
    assert driver.find_element(By.ID, "me-name").get_attribute("value") == "No script follow-up"

"""Herald in a real browser: the flows a new user goes through first."""
import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NAVIGATION_ERRORS, login


def wait(driver, seconds=10):
    return WebDriverWait(driver, seconds, ignored_exceptions=NAVIGATION_ERRORS)


def column_values(driver, header):
    headers = [th.text.strip() for th in driver.find_elements(By.CSS_SELECTOR, "table.records thead th")]
    index = next(i for i, h in enumerate(headers) if h.startswith(header))
    return [row.find_elements(By.CSS_SELECTOR, "td")[index].text.strip()
            for row in driver.find_elements(By.CSS_SELECTOR, "table.records tbody tr")]


def test_login_and_open_contacts(admin, herald):
    admin.get(herald.url + "/")
    wait(admin).until(EC.url_contains("/m/contacts"))
    assert admin.find_element(By.CSS_SELECTOR, "h1").text == "Contacts"
    assert len(admin.find_elements(By.CSS_SELECTOR, "table.records tbody tr")) > 0


def test_wrong_password_is_refused(driver_factory, herald):
    driver = driver_factory()
    driver.get(herald.url + "/login")
    driver.find_element(By.NAME, "email").send_keys(herald.email)
    driver.find_element(By.NAME, "password").send_keys("not the password")
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    assert "Wrong email or password" in wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.error"))).text


def test_view_drop_down_filters_contacts(admin, herald):
    admin.get(herald.url + "/m/contacts?columns=first_name,last_name,mailing_country")
    Select(admin.find_element(By.ID, "view-select")).select_by_visible_text("Contacts in Germany")
    wait(admin).until(EC.url_contains("view="))
    assert "Contacts in Germany" in admin.find_element(By.CSS_SELECTOR, "p.muted strong").text
    countries = column_values(admin, "Mailing Country")
    assert countries, "the view should hold some contacts"
    assert set(countries) == {"Germany"}


def test_the_view_drop_down_by_keyboard_goes_on_enter_not_on_each_arrow(admin, herald):
    """Arrow keys walk the choices without reloading the page (each reloaded it, focus back at
    the top); Enter applies the one reached."""
    from selenium.webdriver.common.keys import Keys
    admin.get(herald.url + "/m/contacts")
    select = admin.find_element(By.ID, "view-select")
    select.send_keys(Keys.ARROW_DOWN)
    select.send_keys(Keys.ARROW_DOWN)
    assert "view=" not in admin.current_url
    assert admin.switch_to.active_element == select, "focus stays on the select"
    chosen = Select(select).first_selected_option.text
    select.send_keys(Keys.ENTER)
    wait(admin).until(EC.url_contains("view="))
    assert Select(admin.find_element(By.ID, "view-select")).first_selected_option.text == chosen


def test_bad_email_is_shown_on_the_form(admin, herald):
    admin.get(herald.url + "/m/contacts/new")
    admin.find_element(By.ID, "f-last_name").send_keys("Mustermann")
    admin.find_element(By.ID, "f-email").send_keys("not-an-email")
    admin.find_element(By.CSS_SELECTOR, "form.form-grid button[type=submit]").click()
    error = wait(admin).until(EC.presence_of_element_located((By.ID, "e-email")))
    assert "not a valid email address" in error.text
    assert admin.find_element(By.ID, "f-email").get_attribute("value") == "not-an-email"
    assert admin.find_element(By.ID, "f-last_name").get_attribute("value") == "Mustermann"


def test_custom_module_with_a_field_and_a_record(admin, herald):
    admin.get(herald.url + "/admin/modules")
    admin.find_element(By.ID, "m-singular").send_keys("Project")
    admin.find_element(By.ID, "m-plural").send_keys("Projects")
    admin.find_element(By.NAME, "field_label").send_keys("Name")
    admin.find_element(By.CSS_SELECTOR, "#module-form button[type=submit]").click()
    wait(admin).until(EC.url_contains("/admin/modules/projects"))

    admin.find_element(By.ID, "f-label").send_keys("Budget")
    Select(admin.find_element(By.ID, "f-type")).select_by_value("currency")
    admin.find_element(By.CSS_SELECTOR, "#field-form button[type=submit]").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr[data-field=budget]")))
    assert "Currency" in admin.find_element(By.CSS_SELECTOR, "tr[data-field=budget]").text

    # The new module is in the navigation; add a record and find it in the list.
    admin.find_element(By.CSS_SELECTOR, "#mainnav a[href='/m/projects']")
    admin.get(herald.url + "/m/projects/new")
    admin.find_element(By.ID, "f-name").send_keys("Apollo")
    admin.find_element(By.ID, "f-budget").send_keys("1250.50")
    admin.find_element(By.CSS_SELECTOR, "form.form-grid button[type=submit]").click()
    wait(admin).until(EC.url_matches(r"/m/projects/\d+$"))
    admin.get(herald.url + "/m/projects")
    assert "Apollo" in column_values(admin, "Name")
    assert "1250.50" in column_values(admin, "Budget")


def test_field_used_by_a_view_cannot_be_deleted(admin, herald):
    admin.get(herald.url + "/admin/modules/contacts")
    admin.find_element(By.ID, "f-label").send_keys("Segment")
    admin.find_element(By.CSS_SELECTOR, "#field-form button[type=submit]").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr[data-field=segment]")))
    # A view that uses the field, written as JSON in the editor's fallback field.
    admin.get(herald.url + "/m/contacts/views/new")
    admin.find_element(By.ID, "view-name").send_keys("Segment A")
    admin.execute_script("""
        const t = document.getElementById('criteria-text');
        t.value = JSON.stringify({all: [{field: 'segment', op: 'equals', value: 'A'}]});
        t.dispatchEvent(new Event('change'));""")
    admin.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    wait(admin).until(EC.url_contains("/m/contacts?view="))
    admin.get(herald.url + "/admin/modules/contacts")
    row = admin.find_element(By.CSS_SELECTOR, "tr[data-field=segment]")
    admin.execute_script("window.confirm = () => true;")
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    message = wait(admin).until(EC.presence_of_element_located((By.ID, "module-message")))
    assert "used by view 'Segment A'" in message.text


def test_view_editor_counts_and_saves(admin, herald):
    admin.get(herald.url + "/m/contacts/views/new")
    preview = admin.find_element(By.ID, "criteria-preview")
    # No conditions: every contact matches.
    wait(admin).until(lambda d: preview.get_attribute("data-pending") is None and preview.get_attribute("data-count"))
    everyone = int(preview.get_attribute("data-count"))
    assert everyone > 0

    admin.find_element(By.ID, "view-name").send_keys("German or French contacts")
    admin.find_element(By.CSS_SELECTOR, "#criteria-builder > .group > .group-actions button[data-add=condition]").click()
    row = admin.find_element(By.CSS_SELECTOR, "#criteria-builder .condition")
    Select(row.find_element(By.CSS_SELECTOR, "select[aria-label=Field]")).select_by_value("mailing_country")
    row = admin.find_element(By.CSS_SELECTOR, "#criteria-builder .condition")
    Select(row.find_element(By.CSS_SELECTOR, "select[aria-label=Operator]")).select_by_value("in")
    row = admin.find_element(By.CSS_SELECTOR, "#criteria-builder .condition")
    row.find_element(By.CSS_SELECTOR, "input[aria-label^=Values]").send_keys("Germany, France")
    wait(admin).until(lambda d: preview.get_attribute("data-pending") is None and preview.get_attribute("data-count"))
    expected = int(preview.get_attribute("data-count"))
    assert 0 < expected < everyone
    assert re.match(r"\d+ records? match", preview.text)

    admin.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    wait(admin).until(EC.url_contains("/m/contacts?view="))
    assert f"· {expected} Contacts" in admin.find_element(By.CSS_SELECTOR, "#selection .toolbar .muted").text


def test_view_editor_shows_server_errors(admin, herald):
    admin.get(herald.url + "/m/contacts/views/new")
    admin.find_element(By.ID, "view-name").send_keys("Broken")
    admin.execute_script("""
        const t = document.getElementById('criteria-text');
        t.value = JSON.stringify({all: [{field: 'mailing_country', op: 'equals', value: 'X'}, {field: 'nope', op: 'equals', value: 1}]});
        t.dispatchEvent(new Event('change'));""")
    admin.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    box = wait(admin).until(EC.presence_of_element_located((By.ID, "view-errors")))
    assert "criteria.all[1].field" in box.text and "no field 'nope'" in box.text
    # The builder marks the condition that is wrong.
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".condition.has-error[data-path='criteria.all[1]']")))


def test_phone_width_has_no_horizontal_overflow(driver_factory, herald):
    phone = driver_factory(width=390, height=844)
    phone.get(herald.url + "/login")
    assert page_overflow(phone) <= 0
    login(phone, herald)
    phone.get(herald.url + "/m/contacts")
    assert phone.find_elements(By.CSS_SELECTOR, "table.records tbody tr")
    assert page_overflow(phone) <= 0
    phone.get(herald.url + "/m/contacts/views/new")
    wait(phone).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#criteria-builder .group")))
    assert page_overflow(phone) <= 0
    for path in ("/m/contacts/new", "/admin/modules", "/admin/modules/contacts", "/m/contacts/import", "/account",
                 "/mass-emails", "/mass-emails/new?module=contacts", "/m/contacts/templates/new", "/admin/senders", "/suppressions"):
        phone.get(herald.url + path)
        assert page_overflow(phone) <= 0, path


def test_view_form_works_without_javascript(driver_factory, herald):
    plain = driver_factory(javascript=False)
    login(plain, herald)
    plain.get(herald.url + "/m/leads/views/new")
    assert plain.find_element(By.ID, "criteria-builder").get_attribute("hidden") is not None
    plain.find_element(By.ID, "view-name").send_keys("Partner leads (no JS)")
    text = plain.find_element(By.ID, "criteria-text")
    text.clear()
    text.send_keys('{"all": [{"field": "lead_source", "op": "equals", "value": "Nope"}]}')
    plain.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    box = wait(plain).until(EC.presence_of_element_located((By.ID, "view-errors")))
    assert "criteria.all[0].value" in box.text
    text = plain.find_element(By.ID, "criteria-text")
    text.clear()
    text.send_keys('{"all": [{"field": "lead_source", "op": "in", "value": ["Partner", "Seminar"]}]}')
    plain.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    wait(plain).until(EC.url_contains("/m/leads?view="))
    assert "Partner leads (no JS)" in plain.find_element(By.CSS_SELECTOR, "p.muted strong").text


def page_overflow(driver):
    return driver.execute_script(
        "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth;")


def test_custom_module_rename_and_delete(admin, herald):
    admin.get(herald.url + "/admin/modules")
    admin.find_element(By.ID, "m-singular").send_keys("Venue")
    admin.find_element(By.ID, "m-plural").send_keys("Venues")
    admin.find_element(By.ID, "m-people").click()
    admin.find_element(By.CSS_SELECTOR, "#module-form button[type=submit]").click()
    wait(admin).until(EC.url_contains("/admin/modules/venues"))
    # "Has people" adds the email field and the opt-out flag.
    assert admin.find_elements(By.CSS_SELECTOR, "tr[data-field=email]")
    assert admin.find_elements(By.CSS_SELECTOR, "tr[data-field=email_opt_out]")

    # A duplicate module name is refused on the form.
    admin.get(herald.url + "/admin/modules")
    admin.find_element(By.ID, "m-singular").send_keys("Venue")
    admin.find_element(By.ID, "m-plural").send_keys("Venues")
    admin.find_element(By.CSS_SELECTOR, "#module-form button[type=submit]").click()
    assert "already exists" in wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#module-form .field-error"))).text

    admin.get(herald.url + "/admin/modules/venues")
    plural = admin.find_element(By.ID, "r-plural")
    plural.clear()
    plural.send_keys("Places")
    admin.find_element(By.CSS_SELECTOR, "#rename-form button[type=submit]").click()
    wait(admin).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), "Places"))
    admin.execute_script("window.confirm = () => true;")
    admin.find_element(By.CSS_SELECTOR, "#delete-module-form button").click()
    wait(admin).until(EC.url_matches(r"/admin/modules$"))
    assert "Places" not in admin.find_element(By.ID, "modules-table").text


def test_module_admin_is_for_admins_only(driver_factory, herald, admin):
    admin.get(herald.url + "/account")
    admin.find_element(By.ID, "u-name").send_keys("Sam User")
    admin.find_element(By.ID, "u-email").send_keys("sam@example.org")
    admin.find_element(By.ID, "u-password").send_keys("sam-password-123")
    admin.find_element(By.CSS_SELECTOR, "#user-form button[type=submit]").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.flash")))

    other = driver_factory()
    other.get(herald.url + "/login")
    other.find_element(By.NAME, "email").send_keys("sam@example.org")
    other.find_element(By.NAME, "password").send_keys("sam-password-123")
    other.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    wait(other).until(EC.presence_of_element_located((By.CSS_SELECTOR, "a[href='/account']")))
    assert not other.find_elements(By.CSS_SELECTOR, "#mainnav a[href='/admin/modules']")
    other.get(herald.url + "/admin/modules")
    assert "403" in other.find_element(By.CSS_SELECTOR, "h1").text
    other.get(herald.url + "/account")
    assert not other.find_elements(By.ID, "user-form")


def test_view_editor_ticks_picklist_values_and_edits_a_view(admin, herald):
    admin.get(herald.url + "/m/leads/views/new")
    preview = admin.find_element(By.ID, "criteria-preview")
    admin.find_element(By.ID, "view-name").send_keys("Partner or seminar leads")
    admin.find_element(By.CSS_SELECTOR, "#criteria-builder button[data-add=condition]").click()
    row = admin.find_element(By.CSS_SELECTOR, "#criteria-builder .condition")
    Select(row.find_element(By.CSS_SELECTOR, "select[aria-label=Field]")).select_by_value("lead_source")
    row = admin.find_element(By.CSS_SELECTOR, "#criteria-builder .condition")
    Select(row.find_element(By.CSS_SELECTOR, "select[aria-label=Operator]")).select_by_value("in")
    for value in ("Partner", "Seminar"):
        admin.find_element(By.CSS_SELECTOR, f"#criteria-builder .choices input[value='{value}']").click()
    wait(admin).until(lambda d: preview.get_attribute("data-pending") is None and preview.get_attribute("data-count"))
    expected = int(preview.get_attribute("data-count"))
    admin.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    wait(admin).until(EC.url_contains("/m/leads?view="))
    assert f"· {expected} Leads" in admin.find_element(By.CSS_SELECTOR, "#selection .toolbar .muted").text

    # Editing shows the saved condition ticked; the same count comes back.
    admin.find_element(By.LINK_TEXT, "Edit view").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#criteria-builder .choices input[value=Partner]:checked")))
    preview = admin.find_element(By.ID, "criteria-preview")
    wait(admin).until(lambda d: preview.get_attribute("data-pending") is None and preview.get_attribute("data-count"))
    assert int(preview.get_attribute("data-count")) == expected


def test_edit_a_picklist_field_and_delete_a_view(admin, herald):
    admin.get(herald.url + "/admin/modules/deals")
    admin.find_element(By.ID, "f-label").send_keys("Region")
    Select(admin.find_element(By.ID, "f-type")).select_by_value("picklist")
    admin.find_element(By.ID, "f-values").send_keys("North\nSouth\nNorth")
    admin.find_element(By.CSS_SELECTOR, "#field-form button[type=submit]").click()
    # The repeated value is refused and the form keeps what was typed.
    assert "listed twice" in wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#field-form .field-error"))).text
    values = admin.find_element(By.ID, "f-values")
    values.clear()
    values.send_keys("North\nSouth")
    admin.find_element(By.CSS_SELECTOR, "#field-form button[type=submit]").click()
    wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr[data-field=region]")))

    admin.find_element(By.CSS_SELECTOR, "tr[data-field=region] a").click()
    label = wait(admin).until(EC.presence_of_element_located((By.ID, "e-label")))
    label.clear()
    label.send_keys("Sales Region")
    admin.find_element(By.ID, "e-values").send_keys("\nEast")
    admin.find_element(By.CSS_SELECTOR, "#field-edit-form button[type=submit]").click()
    row = wait(admin).until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr[data-field=region]")))
    assert "Sales Region" in row.text and "East" in row.text

    admin.get(herald.url + "/m/deals/views/new")
    admin.find_element(By.ID, "view-name").send_keys("Eastern deals")
    admin.execute_script("""
        const t = document.getElementById('criteria-text');
        t.value = JSON.stringify({all: [{field: 'region', op: 'equals', value: 'East'}]});
        t.dispatchEvent(new Event('change'));""")
    admin.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
    wait(admin).until(EC.url_contains("/m/deals?view="))
    admin.find_element(By.LINK_TEXT, "Edit view").click()
    delete = wait(admin).until(EC.presence_of_element_located((By.XPATH, "//button[contains(., 'Delete view')]")))
    admin.execute_script("window.confirm = () => true;")  # on the view's form, not the page before it
    delete.click()
    wait(admin).until(EC.url_matches(r"/m/deals$"))
    options = [o.text for o in Select(admin.find_element(By.ID, "view-select")).options]
    assert "Eastern deals" not in options


UNNAMED_CONTROLS = """
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => !['hidden', 'submit', 'button'].includes(e.type) && e.offsetParent !== null)
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !e.title)
  .map(e => e.outerHTML.slice(0, 120));
"""


def test_every_control_is_named_and_the_skip_link_leads_to_the_page(admin, herald):
    for path in ("/m/contacts", "/m/contacts/new", "/m/contacts/views/new", "/m/contacts/import", "/account",
                 "/mass-emails/new?module=contacts", "/m/contacts/templates/new", "/suppressions", "/admin/mail"):
        admin.get(herald.url + path)
        assert admin.execute_script(UNNAMED_CONTROLS) == [], path
    # The first Tab reaches the skip link, which takes focus past the navigation.
    admin.get(herald.url + "/m/contacts")
    admin.find_element(By.TAG_NAME, "body").send_keys("\t")
    skip = admin.switch_to.active_element
    assert skip.text == "Skip to content"
    skip.send_keys("\n")
    assert admin.switch_to.active_element.get_attribute("id") == "main"


def test_a_long_name_does_not_widen_the_table(admin, herald):
    name = "Z" + "x" * 199
    admin.get(herald.url + "/m/contacts/new")
    admin.find_element(By.ID, "f-last_name").send_keys(name)
    admin.find_element(By.CSS_SELECTOR, "form.form-grid button[type=submit]").click()
    wait(admin).until(EC.url_matches(r"/m/contacts/\d+$"))
    assert page_overflow(admin) <= 0, "the record's page breaks the name rather than widening"
    admin.get(herald.url + "/m/contacts?columns=last_name,email&q=Zxxxxxxxxx")
    cell = wait(admin).until(EC.presence_of_element_located((By.XPATH, f"//td[contains(., '{name[:20]}')]")))
    assert cell.get_attribute("title") == name, "the whole name on hover"
    wrap = admin.find_element(By.CSS_SELECTOR, ".tablewrap")
    assert admin.execute_script("return arguments[0].scrollWidth - arguments[0].clientWidth", wrap) <= 0, \
        "two columns fit: the name is cut at 24rem, not as wide as its 200 characters"

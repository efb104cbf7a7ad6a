// Herald's small progressive enhancements; every page also works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // No inline handlers: the Content-Security-Policy allows scripts from this file only.
  document.querySelectorAll("a[data-back]").forEach((link) => {
    link.addEventListener("click", (event) => {
      if (history.length > 1) { event.preventDefault(); history.back(); }
    });
  });
  document.querySelectorAll("input.secret-value").forEach((input) => {
    input.addEventListener("click", () => input.select());
  });
  document.querySelectorAll("[data-toggle]").forEach((button) => {
    button.addEventListener("click", () => {
      const target = document.getElementById(button.dataset.toggle);
      const open = target.classList.toggle("open");
      button.setAttribute("aria-expanded", String(open));
    });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    const initial = select.value;
    const submit = () => {
      // Choosing a view clears the static list and the other way round.
      const other = select.name === "view" ? "list" : "view";
      const otherSelect = select.form.querySelector(`select[name=${other}]`);
      if (otherSelect && select.value) otherSelect.value = "";
      select.form.querySelectorAll("input[name=page]").forEach((i) => i.remove());
      select.form.submit();
    };
    // A choice by mouse goes at once. By keyboard each arrow key changes the value, and
    // going at each one reloaded the page under the reader's fingers: it goes on Enter, or
    // when focus leaves the select on another choice.
    let byKeyboard = false;
    select.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        submit();
      } else if (event.key !== "Tab" && event.key !== "Shift") {
        byKeyboard = true;
      }
    });
    select.addEventListener("change", () => { if (!byKeyboard) submit(); });
    select.addEventListener("blur", () => { if (byKeyboard && select.value !== initial) submit(); });
  });
  const selectAll = document.querySelector("[data-select-all]");
  const counter = document.querySelector("[data-selected-count]");
  const boxes = () => Array.from(document.querySelectorAll("input[name=ids]"));
  const count = () => { if (counter) counter.textContent = boxes().filter((b) => b.checked).length; };
  if (selectAll) selectAll.addEventListener("change", () => { boxes().forEach((b) => { b.checked = selectAll.checked; }); count(); });
  boxes().forEach((b) => b.addEventListener("change", count));
  // Follow-up actions: show the chosen action's fields; a bounce can only update a field.
  document.querySelectorAll(".trigger-row").forEach((row) => {
    const kind = row.querySelector("[data-trigger-kind]");
    const event = row.querySelector("[data-trigger-event]");
    const sync = () => {
      const bounced = event.value === "bounced";
      kind.querySelectorAll("option").forEach((o) => { o.disabled = bounced && o.value !== "" && o.value !== "update_field"; });
      if (bounced && kind.value !== "update_field" && kind.value !== "") kind.value = "update_field";
      row.dataset.kind = kind.value;
    };
    kind.addEventListener("change", sync);
    event.addEventListener("change", sync);
    sync();
  });
  // Follow-ups: a rule shows the boxes of a field condition only when it is one.
  document.querySelectorAll(".fu-rule").forEach((rule) => {
    const kind = rule.querySelector("[data-rule-kind]");
    kind.addEventListener("change", () => { rule.dataset.kind = kind.value; });
  });
  // A select whose options carry a warning (the mass email form's sender) shows the chosen one's.
  document.querySelectorAll("select[data-warning-target]").forEach((select) => {
    const target = document.getElementById(select.dataset.warningTarget);
    if (!target) return;
    const show = () => {
      const warning = select.selectedOptions[0]?.dataset.warning || "";
      target.textContent = warning;
      target.hidden = warning === "";
    };
    select.addEventListener("change", show);
  });
  // A button that copies the text of the element it names (a DNS record's value).
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const text = source.value ?? source.textContent;
      navigator.clipboard?.writeText(text).then(() => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); });
    });
  });
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => { if (!confirm(el.dataset.confirm)) event.preventDefault(); });
  });
  document.querySelectorAll("[data-apply-columns]").forEach((button) => {
    button.addEventListener("click", () => {
      const box = button.closest("[data-columns-form]");
      const chosen = Array.from(box.querySelectorAll("input[type=checkbox]:checked")).map((c) => c.value);
      const url = new URL(window.location.href);
      url.searchParams.set("columns", chosen.join(","));
      window.location.href = url.toString();
    });
  });
});

// The view editor: a tree of all/any groups and conditions, kept in sync with the
// `criteria` JSON field that the form posts (and that works on its own without JS).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("view-form");
  if (!form) return;
  const mount = document.getElementById("criteria-builder");
  const text = document.getElementById("criteria-text");
  const details = document.getElementById("criteria-json");
  const preview = document.getElementById("criteria-preview");
  const fields = JSON.parse(document.getElementById("view-fields").textContent);
  let problems = JSON.parse(document.getElementById("view-problems").textContent);
  const byName = Object.fromEntries(fields.map((f) => [f.api_name, f]));

  let model;
  try { model = JSON.parse(text.value || '{"all": []}'); } catch (e) { return; }
  if (!isGroup(model)) return;
  mount.hidden = false;
  details.open = false;

  function isGroup(node) { return node && typeof node === "object" && (Array.isArray(node.all) || Array.isArray(node.any)); }
  function kind(group) { return Array.isArray(group.all) ? "all" : "any"; }
  function el(tag, attrs = {}, children = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v; else if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    children.forEach((c) => e.appendChild(c));
    return e;
  }
  function select(options, value, label) {
    const s = el("select", { "aria-label": label });
    options.forEach(([v, l]) => { const o = el("option", { value: v, text: l }); if (v === value) o.selected = true; s.appendChild(o); });
    return s;
  }
  function inputType(type) {
    if (type === "number" || type === "currency" || type === "lookup") return "number";
    if (type === "date" || type === "datetime") return "date";
    return "text";
  }
  function defaultValue(field, op) {
    if (op === "is_empty" || op === "is_not_empty") return undefined;
    if (op === "within_last_days" || op === "within_next_days") return 30;
    if (op === "between") return ["", ""];
    if (op === "in") return [];
    if (field && field.type === "boolean") return "true";
    if (field && field.choices && field.choices.length) return field.choices[0].value;
    return "";
  }
  function newCondition() {
    const field = fields[0];
    const op = field.ops[0].op;
    const c = { field: field.api_name, op };
    const v = defaultValue(field, op);
    if (v !== undefined) c.value = v;
    return c;
  }

  let textBroken = false;
  function changed(rebuild) {
    problems = [];
    textBroken = false;
    text.value = JSON.stringify(model, null, 2);
    if (rebuild) render();
    schedulePreview();
  }

  function valueInputs(cond, field) {
    const box = el("span", { class: "values" });
    const type = field ? field.type : "text";
    const op = cond.op;
    if (op === "is_empty" || op === "is_not_empty") return box;
    const plain = (value, label, onInput, t = inputType(type)) => {
      const i = el("input", { type: t, "aria-label": label });
      if (t === "number") i.step = "any";
      i.value = value == null ? "" : value;
      i.addEventListener("input", () => { onInput(i.value); changed(false); });
      return i;
    };
    if (op === "within_last_days" || op === "within_next_days") {
      box.appendChild(plain(cond.value, "Days", (v) => { cond.value = v === "" ? null : Number(v); }, "number"));
      box.appendChild(el("span", { class: "muted", text: "days" }));
    } else if (op === "between") {
      if (!Array.isArray(cond.value)) cond.value = ["", ""];
      box.appendChild(plain(cond.value[0], "From", (v) => { cond.value[0] = v; }));
      box.appendChild(el("span", { class: "muted", text: "and" }));
      box.appendChild(plain(cond.value[1], "To", (v) => { cond.value[1] = v; }));
    } else if (op === "in" && field && field.choices) {
      // A picklist or a user field: tick the values instead of typing them.
      if (!Array.isArray(cond.value)) cond.value = cond.value == null || cond.value === "" ? [] : [String(cond.value)];
      const list = el("span", { class: "choices", role: "group", "aria-label": "Values" });
      field.choices.forEach((c) => {
        const tick = el("input", { type: "checkbox", value: c.value });
        tick.checked = cond.value.map(String).includes(c.value);
        tick.addEventListener("change", () => {
          cond.value = Array.from(list.querySelectorAll("input:checked")).map((b) => b.value);
          changed(false);
        });
        list.appendChild(el("label", { class: "check" }, [tick, document.createTextNode(" " + c.label)]));
      });
      box.appendChild(list);
    } else if (op === "in") {
      if (!Array.isArray(cond.value)) cond.value = cond.value == null || cond.value === "" ? [] : [String(cond.value)];
      const i = plain(cond.value.join(", "), "Values, separated by commas", (v) => {
        cond.value = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
      }, "text");
      i.placeholder = field && field.choices ? field.choices.map((c) => c.value).slice(0, 4).join(", ") : "a, b, c";
      box.appendChild(i);
    } else if (type === "boolean") {
      const s = select([["true", "Yes"], ["false", "No"]], String(cond.value), "Value");
      s.addEventListener("change", () => { cond.value = s.value; changed(false); });
      box.appendChild(s);
    } else if (field && field.choices && (op === "equals" || op === "not_equals")) {
      const s = select([["", "—"]].concat(field.choices.map((c) => [c.value, c.label])), String(cond.value ?? ""), "Value");
      s.addEventListener("change", () => { cond.value = s.value; changed(false); });
      box.appendChild(s);
    } else {
      box.appendChild(plain(cond.value, "Value", (v) => { cond.value = v; }));
    }
    return box;
  }

  function renderCondition(cond, path, parent, index) {
    const row = el("div", { class: "condition", "data-path": path });
    const field = byName[cond.field];
    const fieldOptions = fields.map((f) => [f.api_name, f.label]);
    if (!field) fieldOptions.unshift([cond.field, `${cond.field} (unknown)`]);
    const fs = select(fieldOptions, cond.field, "Field");
    fs.addEventListener("change", () => {
      const f = byName[fs.value];
      cond.field = fs.value;
      if (!f.ops.some((o) => o.op === cond.op)) cond.op = f.ops[0].op;
      const v = defaultValue(f, cond.op);
      if (v === undefined) delete cond.value; else cond.value = v;
      changed(true);
    });
    const ops = field ? field.ops.map((o) => [o.op, o.label]) : [[cond.op, cond.op]];
    if (field && !field.ops.some((o) => o.op === cond.op)) ops.unshift([cond.op, `${cond.op} (not for this field)`]);
    const os = select(ops, cond.op, "Operator");
    os.addEventListener("change", () => {
      const before = cond.op;
      cond.op = os.value;
      const shape = (op) => (["is_empty", "is_not_empty"].includes(op) ? "none" : ["within_last_days", "within_next_days"].includes(op) ? "days" : ["between", "in"].includes(op) ? op : "one");
      if (shape(before) !== shape(cond.op)) {
        const v = defaultValue(field, cond.op);
        if (v === undefined) delete cond.value; else cond.value = v;
      }
      changed(true);
    });
    const remove = el("button", { type: "button", class: "icon", "aria-label": "Remove condition", title: "Remove condition", text: "✕" });
    remove.addEventListener("click", () => { parent.splice(index, 1); changed(true); });
    [fs, os, valueInputs(cond, field), remove].forEach((c) => row.appendChild(c));
    return row;
  }

  function renderGroup(group, path, parent, index) {
    const key = kind(group);
    const box = el("div", { class: "group", "data-path": path });
    const head = el("div", { class: "group-head" });
    const ks = select([["all", "All"], ["any", "Any"]], key, "Match");
    ks.addEventListener("change", () => {
      const items = group[key];
      delete group[key];
      group[ks.value] = items;
      changed(true);
    });
    head.appendChild(el("span", { text: "Match" }));
    head.appendChild(ks);
    head.appendChild(el("span", { text: "of these conditions" }));
    if (parent) {
      const remove = el("button", { type: "button", class: "icon", "aria-label": "Remove group", title: "Remove group", text: "✕" });
      remove.addEventListener("click", () => { parent.splice(index, 1); changed(true); });
      head.appendChild(remove);
    }
    box.appendChild(head);
    const items = group[key];
    items.forEach((item, i) => {
      const childPath = `${path}.${key}[${i}]`;
      box.appendChild(isGroup(item) ? renderGroup(item, childPath, items, i) : renderCondition(item, childPath, items, i));
    });
    if (items.length === 0) box.appendChild(el("p", { class: "muted", text: parent ? "An empty group matches every record." : "No conditions: the view holds every record." }));
    const actions = el("div", { class: "group-actions" });
    const addCond = el("button", { type: "button", text: "+ Condition", "data-add": "condition" });
    addCond.addEventListener("click", () => { items.push(newCondition()); changed(true); });
    const addGroup = el("button", { type: "button", text: "+ Group", "data-add": "group" });
    addGroup.addEventListener("click", () => { items.push({ any: [newCondition()] }); changed(true); });
    actions.appendChild(addCond);
    actions.appendChild(addGroup);
    box.appendChild(actions);
    return box;
  }

  // Puts each problem (`criteria.all[1].value`) under the deepest node its path starts with.
  function showProblems() {
    mount.querySelectorAll(".field-error").forEach((e) => e.remove());
    mount.querySelectorAll(".has-error").forEach((e) => e.classList.remove("has-error"));
    const nodes = Array.from(mount.querySelectorAll("[data-path]"));
    problems.forEach((p) => {
      let best = null;
      nodes.forEach((n) => {
        const path = n.dataset.path;
        if ((p.field === path || p.field.startsWith(path + ".") || p.field.startsWith(path + "[")) && (!best || path.length > best.dataset.path.length)) best = n;
      });
      if (!best) return;
      best.classList.add("has-error");
      const msg = el("p", { class: "field-error", text: p.field.startsWith(best.dataset.path + ".") ? `${p.field.slice(best.dataset.path.length + 1)}: ${p.reason}` : p.reason });
      if (best.classList.contains("group")) best.insertBefore(msg, best.children[1]); else best.appendChild(msg);
    });
  }

  function render() {
    mount.replaceChildren(renderGroup(model, "criteria", null, 0));
    showProblems();
  }

  let timer = null;
  let sequence = 0;
  function schedulePreview() {
    clearTimeout(timer);
    preview.dataset.pending = "true";
    timer = setTimeout(runPreview, 250);
  }
  async function runPreview() {
    const mine = ++sequence;
    preview.dataset.pending = "true";
    preview.textContent = "Counting…";
    preview.className = "preview muted";
    try {
      const response = await fetch(form.dataset.countUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": form.dataset.csrf },
        body: JSON.stringify({ criteria: model }),
      });
      const body = await response.json();
      if (mine !== sequence) return;
      if (response.ok) {
        preview.textContent = `${body.count} ${body.count === 1 ? "record matches" : "records match"}`;
        preview.className = "preview ok";
        preview.dataset.count = body.count;
        problems = [];
      } else {
        preview.textContent = body.error ? body.error.message : "The conditions cannot be counted.";
        preview.className = "preview error";
        delete preview.dataset.count;
        problems = body.error && body.error.problems ? body.error.problems : [];
      }
      showProblems();
    } catch (e) {
      if (mine === sequence) { preview.textContent = "The preview is not available."; preview.className = "preview muted"; }
    }
    if (mine === sequence) delete preview.dataset.pending;
  }

  text.addEventListener("change", () => {
    try {
      const parsed = JSON.parse(text.value);
      if (isGroup(parsed)) { model = parsed; textBroken = false; render(); schedulePreview(); } else { textBroken = true; }
    } catch (e) { textBroken = true; /* posted as typed: the server names what is wrong */ }
  });
  form.addEventListener("submit", () => { if (!textBroken) text.value = JSON.stringify(model); });

  render();
  runPreview().then(() => {
    // Errors from the last save stay visible until the user changes something.
    const saved = JSON.parse(document.getElementById("view-problems").textContent);
    if (saved.length) { problems = saved; showProblems(); }
  });
});

// The add-field form shows picklist values and the lookup target only for those types.
document.addEventListener("DOMContentLoaded", () => {
  const type = document.querySelector("select[data-field-type]");
  if (!type) return;
  const update = () => {
    type.form.querySelectorAll("[data-show-for]").forEach((box) => {
      box.hidden = box.dataset.showFor !== type.value && !box.classList.contains("has-error");
    });
  };
  type.addEventListener("change", update);
  update();
});

// The template editor: the merge-field picker inserts a tag at the cursor of the field last
// focused (the HTML body at first), and Preview asks the API instead of reloading the page.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("template-form");
  if (!form) return;
  const targets = Array.from(form.querySelectorAll("[data-merge-target]"));
  let target = document.getElementById("t-html");
  targets.forEach((field) => field.addEventListener("focus", () => { target = field; }));
  form.querySelectorAll("button.merge-field").forEach((button) => {
    // Keep the focus (and the selection) in the field while the button is pressed.
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("click", () => {
      const tag = button.dataset.tag;
      const start = target.selectionStart ?? target.value.length;
      const end = target.selectionEnd ?? start;
      target.value = target.value.slice(0, start) + tag + target.value.slice(end);
      target.focus();
      target.setSelectionRange(start + tag.length, start + tag.length);
      target.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  const previewButton = document.getElementById("preview-button");
  const output = document.getElementById("preview-output");
  const error = document.getElementById("preview-error");
  previewButton.addEventListener("click", async (event) => {
    event.preventDefault();
    const value = (name) => (form.elements[name] ? form.elements[name].value : "");
    const record = value("record_id").trim() || value("record_choice");
    const body = { subject: value("subject"), html: value("html") };
    if (value("text").trim()) body.text = value("text");
    if (record) body.record_id = Number(record);
    if (value("sender_id")) body.sender_id = Number(value("sender_id"));
    previewButton.disabled = true;
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": form.dataset.csrf },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (response.ok) {
        document.getElementById("preview-subject").textContent = answer.subject;
        document.getElementById("preview-html").srcdoc = answer.html;
        document.getElementById("preview-text").textContent = answer.text;
        output.hidden = false;
        error.hidden = true;
      } else {
        const problems = (answer.error && answer.error.problems) || [];
        error.textContent = problems.length
          ? problems.map((p) => (p.field ? `${p.field}: ${p.reason}` : p.reason)).join("\n")
          : (answer.error ? answer.error.message : "The preview failed.");
        error.hidden = false;
      }
    } catch (e) {
      error.textContent = "The preview is not available.";
      error.hidden = false;
    }
    previewButton.disabled = false;
  });
});

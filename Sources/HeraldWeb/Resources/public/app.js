// Herald's small progressive enhancements; every page also works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-toggle]").forEach((button) => {
    button.addEventListener("click", () => {
      const target = document.getElementById(button.dataset.toggle);
      const open = target.classList.toggle("open");
      button.setAttribute("aria-expanded", String(open));
    });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => {
      // Choosing a view clears the static list and the other way round.
      const other = select.name === "view" ? "list" : "view";
      const otherSelect = select.form.querySelector(`select[name=${other}]`);
      if (otherSelect && select.value) otherSelect.value = "";
      select.form.querySelectorAll("input[name=page]").forEach((i) => i.remove());
      select.form.submit();
    });
  });
  const selectAll = document.querySelector("[data-select-all]");
  const counter = document.querySelector("[data-selected-count]");
  const boxes = () => Array.from(document.querySelectorAll("input[name=ids]"));
  const count = () => { if (counter) counter.textContent = boxes().filter((b) => b.checked).length; };
  if (selectAll) selectAll.addEventListener("change", () => { boxes().forEach((b) => { b.checked = selectAll.checked; }); count(); });
  boxes().forEach((b) => b.addEventListener("change", count));
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

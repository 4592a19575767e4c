// JoPay portal: confirmation prompts for destructive forms, and one submit per
// form. No libraries.
document.addEventListener("submit", function (e) {
  var form = e.target;
  var button = e.submitter;
  var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
  if (text && !window.confirm(text)) { e.preventDefault(); return; }
  // A double click sent a POST twice: two API keys were created and only the
  // second was ever shown (the first active, its secret seen by no one). The
  // page is leaving, so the form's later POSTs are dropped.
  if (form.method !== "post") return;  // a filter (GET) may be sent again
  if (form.getAttribute("data-submitting")) { e.preventDefault(); return; }
  form.setAttribute("data-submitting", "1");
});
// Back to a page from the browser's cache: its forms can be sent again.
window.addEventListener("pageshow", function (e) {
  if (!e.persisted) return;
  var forms = document.querySelectorAll("form[data-submitting]");
  for (var i = 0; i < forms.length; i++) forms[i].removeAttribute("data-submitting");
});

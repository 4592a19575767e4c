// JoPay portal: confirmation prompts for destructive forms. No libraries.
document.addEventListener("submit", function (e) {
  var form = e.target;
  var button = e.submitter;
  var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
  if (text && !window.confirm(text)) { e.preventDefault(); }
});

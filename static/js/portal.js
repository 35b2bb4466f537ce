// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // GOV.UK pattern: move focus to the error summary so screen readers announce it at once.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }

  // Stop a second click from submitting a form twice while the first request is on its way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    window.setTimeout(function () { form.dataset.submitted = "false"; }, 5000);
  });
})();

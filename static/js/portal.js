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

// A large bill batch is checked or loaded by the worker: follow its progress without reloading, then
// reload once it is done so the page shows the result.
(function () {
  "use strict";
  var panel = document.querySelector("[data-batch-status]");
  if (!panel || !window.fetch) {
    return;
  }
  var rows = panel.querySelector("[data-batch-rows]");
  var label = panel.querySelector("[data-batch-label]");
  var bar = panel.querySelector("[data-batch-progress]");
  function poll() {
    window.fetch(panel.dataset.batchStatus, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        rows.textContent = state.progress_rows;
        label.textContent = state.label;
        if (state.rows_estimate) {
          bar.max = state.rows_estimate;
          bar.value = state.progress_rows;
        }
        if (state.running) {
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();

// The analytics live overview: swap in fresh figures every few seconds while the tab is shown; without
// this file the page's Refresh link does the same. The polls say they are polls, so they keep no staff
// session alive; once the session has ended (the panel answers with the login page), reload the page.
(function () {
  "use strict";
  var panel = document.querySelector("[data-live-panel]");
  if (!panel || !window.fetch) {
    return;
  }
  function poll() {
    if (document.hidden) {
      window.setTimeout(poll, 5000);
      return;
    }
    window.fetch(panel.dataset.livePanel, { credentials: "same-origin", headers: { "X-Background-Poll": "1" } })
      .then(function (response) {
        if (response.redirected) {
          window.location.reload();
          return null;
        }
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) {
          panel.innerHTML = html;
          window.setTimeout(poll, 5000);
        }
      })
      .catch(function () { window.setTimeout(poll, 15000); });
  }
  window.setTimeout(poll, 5000);
})();

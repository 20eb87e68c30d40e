// The step navigator of an exported page or a notebook output: no network, no dependencies.
// Each viewer drives only its own steps (a notebook can show several). On a page of its own the
// address follows the reader (#step=N) and the arrow keys work anywhere on the page; inside a
// notebook they work once the viewer has the focus, so the notebook keeps its own shortcuts.
(function () {
  "use strict";
  var root = document.currentScript.parentElement;
  var data = JSON.parse(root.querySelector(".sqx-data").textContent);
  var steps = root.querySelectorAll(".sqx-step");
  var slider = root.querySelector(".sqx-slider");
  var runs = root.querySelector(".sqx-runs");
  var count = steps.length;
  var current = 1;

  function fromAddress() {
    var match = /(?:^#|&)step=(\d+)/.exec(window.location.hash);
    return match ? parseInt(match[1], 10) : 1;
  }

  function show(n, follow) {
    n = Math.min(Math.max(1, n || 1), Math.max(1, count));
    if (steps[current - 1]) steps[current - 1].hidden = true;
    if (steps[n - 1]) steps[n - 1].hidden = false;
    current = n;
    root.querySelector(".sqx-n").textContent = String(n);
    var title = data.titles[n - 1];
    root.querySelector(".sqx-title").textContent = title ? " \u00b7 " + title : "";
    slider.value = String(n);
    root.querySelector('[data-go="first"]').disabled = n <= 1;
    root.querySelector('[data-go="prev"]').disabled = n <= 1;
    root.querySelector('[data-go="next"]').disabled = n >= count;
    root.querySelector('[data-go="last"]').disabled = n >= count;
    if (follow && data.follow && fromAddress() !== n) {
      // replaceState: stepping does not fill the browser's history with one entry per step.
      window.history.replaceState(null, "", "#step=" + n);
    }
  }

  function showRun(value) {
    root.querySelectorAll(".sqx-run").forEach(function (run) {
      run.hidden = run.getAttribute("data-run") !== value;
    });
  }

  var moves = {
    first: function () { return 1; },
    prev: function () { return current - 1; },
    next: function () { return current + 1; },
    last: function () { return count; },
  };
  root.querySelectorAll("[data-go]").forEach(function (button) {
    button.addEventListener("click", function () {
      show(moves[button.getAttribute("data-go")](), true);
    });
  });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10), true); });
  if (runs) runs.addEventListener("change", function () { showRun(runs.value); });

  var keys = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last" };
  var target = data.follow ? document : root;
  if (!data.follow) root.tabIndex = 0;
  target.addEventListener("keydown", function (event) {
    var move = keys[event.key];
    var tag = event.target && event.target.tagName;
    // The slider and the run selector handle their own keys; text fields keep theirs.
    if (!move || event.altKey || event.ctrlKey || event.metaKey || tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    event.preventDefault();
    show(moves[move](), true);
  });
  if (data.follow) {
    window.addEventListener("hashchange", function () { show(fromAddress(), false); });
    show(fromAddress(), false);
  } else {
    show(1, false);
  }
})();

// The step navigator of an exported page or a notebook output: no network, no dependencies.
// Each viewer drives only its own steps (a notebook can show several). On a page of its own the
// address follows the reader (#step=N) and the arrow keys work anywhere on the page; inside a
// notebook they work once the viewer has the focus, so the notebook keeps its own shortcuts.
// Predict mode: a step with questions shows its code and a form; what it did waits in a
// <template> (outside the document) until the reader answers or presses Reveal. Answers are kept
// in localStorage (data.storage), so the score survives a reload; the last step ends with a summary.
// In the app the same viewer runs as the lesson page's step area (data.query: the address is the
// page's ?step=N; the page's own script binds the keys), and tells the page what happened through
// events on its root: "sqx-step" (the step on screen, and whether it is revealed), "sqx-answer"
// (a prediction answered or revealed now) and "sqx-next-lesson" (cancelable).
function sqxViewer(root) {
  "use strict";
  var data = JSON.parse(root.querySelector(".sqx-data").textContent);
  var steps = root.querySelectorAll(".sqx-step");
  var slider = root.querySelector(".sqx-slider");
  var runs = root.querySelector(".sqx-runs");
  var count = steps.length;
  var current = 1;
  var nextLesson = root.querySelector(".sqx-next-lesson");
  var done = load();

  function fromAddress() {
    if (data.query) return parseInt(new URLSearchParams(window.location.search).get("step") || "1", 10) || 1;
    var match = /(?:^#|&)step=(\d+)/.exec(window.location.hash);
    return match ? parseInt(match[1], 10) : 1;
  }

  function toAddress(n) {
    if (!data.query) {
      window.history.replaceState(null, "", "#step=" + n);
      return;
    }
    var params = new URLSearchParams(window.location.search);
    params.set("step", String(n));
    window.history.replaceState(window.history.state, "", "?" + params.toString() + window.location.hash);
  }

  function tell(name, detail, cancelable) {
    return root.dispatchEvent(new CustomEvent(name, { detail: detail, cancelable: !!cancelable }));
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
    root.querySelector('[data-go="next"]').hidden = n >= count && !!nextLesson;
    if (nextLesson) nextLesson.hidden = n < count;
    root.querySelector('[data-go="last"]').disabled = n >= count;
    if (follow) {
      // The navigation sticks to the top: bring the new step's start (its question) below it.
      var nav = root.querySelector(".sqx-nav");
      var below = nav ? nav.getBoundingClientRect().bottom : 0;
      var top = steps[n - 1] ? steps[n - 1].getBoundingClientRect().top : below;
      if (top < below) window.scrollBy(0, top - below - 8);
    }
    if (follow && data.follow && fromAddress() !== n) {
      // replaceState: stepping does not fill the browser's history with one entry per step.
      toAddress(n);
    }
    tell("sqx-step", { step: n, revealed: !waiting(n) });
  }

  function showRun(value) {
    root.querySelectorAll(".sqx-run").forEach(function (run) {
      run.hidden = run.getAttribute("data-run") !== value;
    });
  }

  // --- Predict mode -------------------------------------------------------------------------
  function load() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(data.storage) || "null");
      // A renamed lesson: what the reader answered under its old name, until they answer again.
      (data.former || []).forEach(function (key) {
        if (!stored) stored = JSON.parse(window.localStorage.getItem(key) || "null");
      });
      return stored && stored.steps ? stored.steps : {};
    } catch (error) { return {}; }
  }

  function save() {
    try {
      if (Object.keys(done).length) window.localStorage.setItem(data.storage, JSON.stringify({ steps: done }));
      else window.localStorage.removeItem(data.storage);
    } catch (error) { /* storage refused (a private window, file:// in some browsers): kept for this visit */ }
  }

  function keyOf(section) {
    var template = section.querySelector("template.sqx-answer");
    return template ? JSON.parse(template.content.querySelector(".sqx-key").textContent) : null;
  }

  function waiting(n) {
    var section = steps[n - 1];
    return !!(section && section.querySelector("template.sqx-answer"));
  }

  function element(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function isRight(question, given) {
    if (given === null || given === undefined || String(given).trim() === "") return false;
    if (question.control === "number") return parseInt(given, 10) === parseInt(question.answer, 10) && /^\s*\d+\s*$/.test(given);
    return String(given) === question.answer;
  }

  function reveal(n, record) {
    var section = steps[n - 1];
    var template = section && section.querySelector("template.sqx-answer");
    if (!template) return;
    var key = keyOf(section);
    var index = String(n - 1);
    if (record !== false && !done[index]) {
      done[index] = { title: data.titles[n - 1] || "", answers: [], right: [] };
      save();
    }
    // Told whether answered now or read back from the browser's storage: the page's server may count it.
    if (done[index]) tell("sqx-answer", { index: n - 1, answers: done[index].answers });
    var item = done[index] || { answers: [], right: [] };
    var marks = section.querySelector(".sqx-marks");
    var list = element("ul");
    key.forEach(function (question, i) {
      var line = question.prompt.replace(/`/g, "") + " ";
      if (item.answers.length === key.length) {
        line += "You said " + item.answers[i] + ": " + (item.right[i] ? "right" : "wrong, it was " + question.answer);
      } else {
        line += question.answer;
      }
      list.appendChild(element("li", line + (question.explain ? " (" + question.explain.replace(/\.$/, "") + ")." : ".")));
    });
    var all = item.right.length === key.length && item.right.every(Boolean);
    var verdict = item.answers.length ? (all ? "You predicted it." : "Not quite: compare with what happened.") : "Revealed without a prediction.";
    marks.className = "sqx-marks " + (item.answers.length ? (all ? "sqx-right" : "sqx-wrong") : "sqx-revealed");
    marks.appendChild(element("p", verdict));
    marks.appendChild(list);
    var ask = section.querySelector(".sqx-ask");
    var question = section.querySelector(".sqx-question");
    if (ask) ask.remove();
    if (question) question.remove();
    section.appendChild(template.content.cloneNode(true));
    template.remove();
    if (runs) showRun(runs.value);
    score();
    if (n === count) summary();
    if (n === current) tell("sqx-step", { step: n, revealed: true });
  }

  function answer(n, form) {
    var section = steps[n - 1];
    var key = keyOf(section);
    var answers = key.map(function (question, i) {
      var field = form.elements["q" + i];
      return field ? String(field.value || "").trim() : "";
    });
    if (answers.some(function (value) { return value === ""; })) {
      form.querySelector(".sqx-missing").hidden = false;
      return;
    }
    done[String(n - 1)] = {
      title: data.titles[n - 1] || "",
      answers: answers,
      right: key.map(function (question, i) { return isRight(question, answers[i]); }),
    };
    save();
    reveal(n);
  }

  function asked() {
    var out = [];
    steps.forEach(function (section, i) { if (section.hasAttribute("data-asked")) out.push(i); });
    return out;
  }

  function allRight(item) {
    return !!(item && item.right.length && item.answers.length && item.right.every(Boolean));
  }

  function score() {
    var bar = root.querySelector(".sqx-score");
    if (!bar) return;
    var list = asked();
    var answered = list.filter(function (i) { return done[String(i)] && done[String(i)].answers.length; });
    var right = list.filter(function (i) { return allRight(done[String(i)]); });
    bar.querySelector(".sqx-score-text").textContent = "Score: " + right.length + " of " + list.length +
      " predicted right (" + answered.length + " answered)";
    bar.querySelector(".sqx-clear").hidden = !Object.keys(done).length;
  }

  function summary() {
    var last = steps[count - 1];
    if (!last || last.querySelector(".sqx-summary")) return;
    var list = asked();
    if (!list.length) return;
    var right = list.filter(function (i) { return allRight(done[String(i)]); });
    var box = element("div", "", "sqx-summary");
    box.appendChild(element("h2", "Lesson summary"));
    box.appendChild(element("p", "You predicted " + right.length + " of " + list.length + " steps right."));
    var revisit = list.filter(function (i) { return right.indexOf(i) < 0; });
    box.appendChild(element("p", revisit.length ? "To revisit (a wrong answer, or revealed without one):" : "Nothing to revisit: every prediction was right."));
    var links = element("ul");
    revisit.forEach(function (i) {
      var link = element("a", "Step " + (i + 1) + (data.titles[i] ? ": " + data.titles[i] : ""));
      link.href = "#step=" + (i + 1);
      link.addEventListener("click", function (event) { event.preventDefault(); show(i + 1, true); });
      var item = element("li");
      item.appendChild(link);
      links.appendChild(item);
    });
    box.appendChild(links);
    if (nextLesson) {
      var onward = element("a", nextLesson.textContent);
      onward.href = nextLesson.getAttribute("href");
      box.appendChild(onward);
    }
    last.appendChild(box);
  }

  steps.forEach(function (section, i) {
    var form = section.querySelector(".sqx-form");
    if (form) form.addEventListener("submit", function (event) { event.preventDefault(); answer(i + 1, form); });
    var button = section.querySelector(".sqx-reveal");
    if (button) button.addEventListener("click", function () { reveal(i + 1); });
    if (done[String(i)]) reveal(i + 1, false);
  });
  var clear = root.querySelector(".sqx-clear");
  if (clear) clear.addEventListener("click", function () {
    done = {};
    save();
    window.location.reload();  // the simplest way to put every question back
  });
  if (nextLesson) nextLesson.addEventListener("click", function (event) {
    if (waiting(count)) { event.preventDefault(); reveal(count); return; }
    if (!tell("sqx-next-lesson", { href: nextLesson.getAttribute("href") }, true)) event.preventDefault();
  });
  score();

  var moves = {
    first: function () { return 1; },
    prev: function () { return current - 1; },
    next: function () { return current + 1; },
    last: function () { return count; },
  };
  function go(which) {
    // Next on a step still asking reveals it first; on the last step it leads to the next lesson.
    if (which === "next" && waiting(current)) { reveal(current); return; }
    if (which === "next" && current >= count && nextLesson) {
      if (tell("sqx-next-lesson", { href: nextLesson.getAttribute("href") }, true)) window.location.href = nextLesson.href;
      return;
    }
    show(moves[which](), true);
  }
  root.querySelectorAll("[data-go]").forEach(function (button) {
    button.addEventListener("click", function () { go(button.getAttribute("data-go")); });
  });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10), true); });
  if (runs) runs.addEventListener("change", function () { showRun(runs.value); });

  var keys = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last" };
  var target = data.keys === false ? null : data.follow ? document : root;
  if (!data.follow) root.tabIndex = 0;
  if (target) target.addEventListener("keydown", function (event) {
    var move = keys[event.key];
    var tag = event.target && event.target.tagName;
    // The slider and the run selector handle their own keys; text fields keep theirs.
    if (!move || event.altKey || event.ctrlKey || event.metaKey || tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    event.preventDefault();
    go(move);
  });
  var start = parseInt(root.getAttribute("data-start") || "0", 10);
  if (data.follow) {
    if (!data.query) window.addEventListener("hashchange", function () { show(fromAddress(), false); });
    show(start || fromAddress(), false);
  } else {
    show(start || 1, false);
  }
  return {
    go: go,
    show: show,
    current: function () { return current; },
    revealed: function () { return !waiting(current); },
    // The page may have written another step into the address (the server's last word): ours.
    sync: function () { if (data.follow && fromAddress() !== current) toAddress(current); },
  };
}

(function () {
  // An exported page or a notebook output: the script sits at the end of its viewer.
  var script = document.currentScript;
  var viewer = script && script.parentElement;
  if (viewer && viewer.classList.contains("sqx-viewer")) sqxViewer(viewer);
})();

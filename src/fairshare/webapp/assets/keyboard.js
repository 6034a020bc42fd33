/* fairshare web app: keyboard access and accessible names for what Dash renders.
 *
 * - The tab bar (dcc.Tabs) becomes a proper tablist: each tab is focusable, Enter or Space
 *   opens it, Left / Right / Home / End move between tabs, aria-selected follows.
 * - Every control gets its visible label as its accessible name: a <label for=ID> names the
 *   slider handle, the slider's number box and the dropdown button inside the element ID
 *   (Dash renders those without a name of their own).
 * - Typing in an open dropdown always goes to its search box (Dash moves focus to the chosen
 *   option a frame after opening, which swallowed every letter after the first), and Enter in
 *   the search box picks the best match, not the first in the list: the whole name, then a
 *   name or code that starts with what was typed, then a word that does ("Wes" -> Wessex, not
 *   North West), then any match, the shortest name first ("Paed" -> Paediatrics); the option
 *   Enter will pick is marked.
 * - Tables (class "sortable") sort when a heading's button is pressed: by each cell's data-v
 *   (numbers) or its text; the Total row stays last; aria-sort says how. Plain buttons: Tab
 *   always moves on (no keyboard trap).
 * - A file upload (dcc.Upload) is named by the button that opens it and is one tab stop.
 * Served by the app itself from assets/; it fetches nothing.
 */
(function () {
  "use strict";

  /* Attributes are set only when they differ: the observer below watches some of them, and
   * setting an attribute to its own value would wake it again. */
  function setAttr(el, name, value) {
    if (el.getAttribute(name) !== value) { el.setAttribute(name, value); }
  }

  function dropAttr(el, name) {
    if (el.hasAttribute(name)) { el.removeAttribute(name); }
  }

  function activate(el, event) {
    if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
      event.preventDefault();
      el.click();
      return true;
    }
    return false;
  }

  function enhanceTabs() {
    var bar = document.querySelector("#tabs");
    if (!bar) { return; }
    setAttr(bar, "role", "tablist");
    setAttr(bar, "aria-label", "Views");
    var tabs = Array.prototype.slice.call(bar.querySelectorAll(":scope > .tab"));
    tabs.forEach(function (tab) {
      var selected = tab.classList.contains("tab--selected");
      setAttr(tab, "role", "tab");
      setAttr(tab, "tabindex", selected ? "0" : "-1");
      setAttr(tab, "aria-selected", selected ? "true" : "false");
      if (tab.dataset.kbd) { return; }
      tab.dataset.kbd = "1";
      tab.addEventListener("keydown", function (event) {
        if (activate(tab, event)) { return; }
        var all = Array.prototype.slice.call(bar.querySelectorAll(":scope > .tab"));
        var k = all.indexOf(tab);
        var next = null;
        if (event.key === "ArrowRight") { next = all[(k + 1) % all.length]; }
        else if (event.key === "ArrowLeft") { next = all[(k - 1 + all.length) % all.length]; }
        else if (event.key === "Home") { next = all[0]; }
        else if (event.key === "End") { next = all[all.length - 1]; }
        if (next) {
          event.preventDefault();
          next.click();
          next.focus();
        }
      });
      tab.addEventListener("click", function () {
        window.requestAnimationFrame(enhanceTabs);
      });
    });
    if (tabs.length && !tabs.some(function (t) { return t.getAttribute("tabindex") === "0"; })) {
      tabs[0].setAttribute("tabindex", "0");
    }
  }

  function nameControls() {
    var labels = document.querySelectorAll("label[for]");
    Array.prototype.forEach.call(labels, function (label) {
      var forId = label.getAttribute("for");
      var box = document.getElementById(forId);
      if (!box || !label.id) { return; }
      var inner = box.querySelectorAll(
        "[role='slider'], input, button, [role='combobox'], [role='radiogroup']");
      if (box.matches("button, [role='combobox']")) { inner = [box]; }
      Array.prototype.forEach.call(inner, function (el) {
        if (el.getAttribute("aria-labelledby") === label.id) { return; }
        el.setAttribute("aria-labelledby", label.id);
        if (el.matches("input[type='number']")) {
          el.setAttribute("aria-label", label.textContent.trim() + " (type a value)");
          el.removeAttribute("aria-labelledby");
        }
      });
    });
  }

  /* Dash's RadioItems is a role=listbox of role=option labels that hold radio inputs (nested
   * interactive controls): make it a plain radio group named by its fieldset's legend. */
  function fixRadios() {
    var groups = document.querySelectorAll(".radios");
    Array.prototype.forEach.call(groups, function (group) {
      var legend = document.getElementById(group.id + "-label");
      setAttr(group, "role", "radiogroup");
      if (legend) { setAttr(group, "aria-labelledby", legend.id); }
      plainOptions(group);
    });
  }

  /* Dash re-sets aria-selected on a label that no longer has role=option each time an option
   * is chosen (a critical axe violation): strip both, again whenever they come back. */
  function plainOptions(list) {
    Array.prototype.forEach.call(list.querySelectorAll(".dash-options-list-option"),
      function (el) {
        dropAttr(el, "role");
        dropAttr(el, "aria-selected");
      });
  }

  /* An open dropdown is a dialog holding a list of radio buttons (inside labels that Dash
   * marks role=option: an interactive control nested in an option). Make it what it is: a
   * dialog and a radio group, both named by the dropdown's label, of plain labelled radios. */
  function fixOpenDropdowns() {
    var open = document.querySelectorAll(".dash-dropdown-content[data-state='open']");
    Array.prototype.forEach.call(open, function (content) {
      var button = content.id ? document.querySelector(
        "button[aria-controls='" + content.id + "']") : null;
      var label = button ? document.getElementById(button.id + "-label") : null;
      if (label) { setAttr(content, "aria-labelledby", label.id); }
      else { setAttr(content, "aria-label", "Options"); }
      Array.prototype.forEach.call(content.querySelectorAll(".dash-options-list"),
        function (list) {
          var radios = list.querySelector("input[type='radio']");
          setAttr(list, "role", radios ? "radiogroup" : "group");
          if (label) { setAttr(list, "aria-labelledby", label.id); }
          else { setAttr(list, "aria-label", "Options"); }
          plainOptions(list);
        });
    });
  }

  /* Dropdowns: the button is the tab stop (named by its label), not Dash's hidden focus proxy.
   * Opening one puts the cursor in its search box; typing a letter on the closed button opens
   * it and starts the search with that letter. */
  /* Letters typed on a closed dropdown before its list has opened (a fast typist, a busy
   * machine) are kept here and put in the search box once it exists, in order. */
  var typedAhead = {button: null, text: "", enter: false};

  function focusSearch(button) {
    var until = Date.now() + 5000;  // a busy machine may take a while to open the list
    (function attempt() {
      var input = document.querySelector(
        ".dash-dropdown-content[data-state='open'] .dash-dropdown-search-container input");
      if (!input) {
        if (Date.now() < until) { window.requestAnimationFrame(attempt); }
        else if (typedAhead.button === button) { typedAhead.button = null; }
        return;
      }
      input.setAttribute("aria-label", "Search the list");
      input.focus();
      var mine = typedAhead.button === button;
      var text = mine ? typedAhead.text : "";
      var enter = mine && typedAhead.enter;
      if (mine) { arrowed = false; }  // a new search: Enter takes its best match
      typedAhead.button = null;
      typedAhead.text = "";
      typedAhead.enter = false;
      if (text) {
        var setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
        setter.call(input, text);
        input.dispatchEvent(new Event("input", {bubbles: true}));
      }
      if (enter) {  // Enter pressed before the list was open: choose once it is drawn
        window.requestAnimationFrame(function () {
          var best = bestOption(input);
          if (best) { best.click(); }
        });
      }
    })();
  }

  function enhanceDropdowns() {
    var proxies = document.querySelectorAll(".dash-dropdown-focus-target[aria-hidden='true']");
    Array.prototype.forEach.call(proxies, function (el) { el.setAttribute("tabindex", "-1"); });
    var buttons = document.querySelectorAll("button.dash-dropdown");
    Array.prototype.forEach.call(buttons, function (button) {
      if (button.getAttribute("tabindex") !== "0") { button.setAttribute("tabindex", "0"); }
      if (button.dataset.kbd) { return; }
      button.dataset.kbd = "1";
      button.addEventListener("keydown", function (event) {
        var letter = event.key.length === 1 && !event.ctrlKey && !event.metaKey &&
          !event.altKey && event.key !== " ";
        if (typedAhead.button === button && event.key === "Enter") {
          event.preventDefault();
          event.stopPropagation();
          typedAhead.enter = true;
          enterTaken = true;
          return;
        }
        if (!letter) { return; }
        if (typedAhead.button === button) {  // still opening: keep the letter for the box
          event.preventDefault();
          typedAhead.text += event.key;
          return;
        }
        if (button.getAttribute("aria-expanded") !== "true") {
          event.preventDefault();
          typedAhead.button = button;
          typedAhead.text = event.key;
          button.click();
          focusSearch(button);
        }
      });
      button.addEventListener("click", function () {
        window.setTimeout(function () {
          if (button.getAttribute("aria-expanded") === "true" &&
              typedAhead.button !== button) { focusSearch(button); }
        }, 0);
      });
    });
  }

  var OPEN = ".dash-dropdown-content[data-state='open']";

  function openSearch() {
    return document.querySelector(OPEN + " input.dash-dropdown-search");
  }

  function typeInto(input, text, erase) {
    var setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    var now = erase ? input.value.slice(0, -1) : input.value + text;
    input.focus();
    setter.call(input, now);
    input.dispatchEvent(new Event("input", {bubbles: true}));
  }

  /* How well an option's label matches the search: 0 best (the whole label or its code),
   * 1 the label starts with it, 2 a word starts with it, 3 it is inside, 9 no match. */
  function matchRank(label, query) {
    var l = label.trim().toLowerCase(), q = query.trim().toLowerCase();
    if (!q) { return 9; }
    var code = /\(([^)]*)\)\s*$/.exec(l);
    if (l === q || (code && code[1] === q) || l.replace(/\s*\([^)]*\)\s*$/, "") === q) {
      return 0;
    }
    if (l.indexOf(q) === 0) { return 1; }
    if (new RegExp("(^|[\\s(/-])" + q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).test(l)) {
      return 2;
    }
    return l.indexOf(q) >= 0 ? 3 : 9;
  }

  function bestOption(input) {
    var content = input.closest(OPEN);
    if (!content) { return null; }
    var options = content.querySelectorAll(".dash-dropdown-option");
    var best = null, bestRank = 9, bestLength = 0;
    Array.prototype.forEach.call(options, function (option) {
      var rank = matchRank(option.textContent, input.value);
      var length = option.textContent.trim().length;  // of equal matches, the shortest name
      if (rank < bestRank || (rank === bestRank && rank < 9 && length < bestLength)) {
        best = option; bestRank = rank; bestLength = length;
      }
    });
    return best;
  }

  function markBest() {
    var input = openSearch();
    var marked = document.querySelectorAll(".dash-dropdown-option.best-match");
    var best = input ? bestOption(input) : null;
    Array.prototype.forEach.call(marked, function (el) {
      if (el !== best) { el.classList.remove("best-match"); }
    });
    if (best && !best.classList.contains("best-match")) { best.classList.add("best-match"); }
  }

  /* Dash's own type-ahead on a closed dropdown (on key up) keeps a buffer of its own that
   * outlives a choice, so a later search starts with old letters: letters are handled on key
   * down above, and their key up (and that of an Enter already taken, wherever the focus has
   * moved meanwhile) never reaches Dash. */
  var enterTaken = false;

  function buttonKeyUp(event) {
    if (event.key === "Enter" && enterTaken) {
      // the Enter was taken on key down: its key up must not choose (an option's radio
      // selects on Enter's key up) or reopen (the button opens on it) anything
      enterTaken = false;
      event.stopPropagation();
      return;
    }
    var t = event.target;
    if (!t || !t.matches || !t.matches("button.dash-dropdown")) { return; }
    var letter = event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey;
    if (letter) { event.stopPropagation(); }
  }

  /* Whether the person last moved through the list with the arrow keys (then Enter takes the
   * option they moved to) or typed (then Enter takes the best match of what they typed). */
  var arrowed = false;

  function dropdownKeys(event) {
    var input = openSearch();
    if (!input) { return; }
    var target = event.target;
    var inside = target && target.closest && target.closest(OPEN);
    if (!inside) { return; }
    var plain = !event.ctrlKey && !event.metaKey && !event.altKey;
    var stop = function () { event.preventDefault(); event.stopPropagation(); };
    if (["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End"].indexOf(event.key) >= 0) {
      arrowed = true;
      return;
    }
    var letter = plain && event.key.length === 1 && (event.key !== " " || input.value);
    if (typedAhead.button) {  // the list is still opening: keep keys for the search box
      if (letter) { stop(); typedAhead.text += event.key; return; }
      if (event.key === "Enter") { stop(); typedAhead.enter = true; enterTaken = true; return; }
    }
    if (event.key === "Enter" && plain && input.value.trim() &&
        (target === input || !arrowed)) {
      var best = bestOption(input);
      if (best) { stop(); enterTaken = true; best.click(); }
      return;
    }
    if (target === input) {
      if (letter) { arrowed = false; }
      return;
    }
    if (letter || (plain && event.key === "Backspace")) {
      stop();
      arrowed = false;
      typeInto(input, event.key, event.key === "Backspace");
    }
  }

  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim().toLowerCase() : parseFloat(v);
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    var totals = rows.filter(function (r) { return r.classList.contains("total"); });
    rows = rows.filter(function (r) { return !r.classList.contains("total"); });
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.concat(totals).forEach(function (r) { body.appendChild(r); });
  }

  function enhanceTables() {
    var buttons = document.querySelectorAll("table.sortable th button.sort");
    Array.prototype.forEach.call(buttons, function (button) {
      if (button.dataset.kbd) { return; }
      button.dataset.kbd = "1";
      button.addEventListener("click", function () { sortBy(button.closest("th")); });
    });
  }

  /* dcc.Upload keeps its file input invisible over the button that opens it: the input gets
   * the button's words as its name and leaves the tab order (the button is the one stop). */
  function nameUploads() {
    var inputs = document.querySelectorAll(".upload input[type='file']");
    Array.prototype.forEach.call(inputs, function (input) {
      var button = input.parentElement && input.parentElement.querySelector("button");
      setAttr(input, "aria-label", button ? button.textContent : "Choose a file");
      setAttr(input, "tabindex", "-1");
    });
  }

  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      enhanceTabs();
      nameControls();
      fixRadios();
      fixOpenDropdowns();
      enhanceDropdowns();
      enhanceTables();
      nameUploads();
      markBest();
    });
  }

  function start() {
    schedule();
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true,
      attributeFilter: ["role", "aria-selected", "data-state", "aria-expanded"]});
    document.addEventListener("keydown", dropdownKeys, true);
    document.addEventListener("keyup", buttonKeyUp, true);
    document.addEventListener("input", function (event) {
      if (event.target && event.target.matches && event.target.matches(
        "input.dash-dropdown-search")) { window.requestAnimationFrame(markBest); }
    }, true);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

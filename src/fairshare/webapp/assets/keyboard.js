/* fairshare web app: keyboard access for the parts Dash renders as plain <div>s / <span>s.
 *
 * - The tab bar (dcc.Tabs) becomes a proper tablist: each tab is focusable (Tab key), Enter or
 *   Space opens it, Left / Right / Home / End move between tabs, aria-selected follows.
 * - The sort arrows of every table header (DataTable) become focusable buttons: Enter or Space
 *   sorts by that column.
 * Served by the app itself from assets/; it fetches nothing.
 */
(function () {
  "use strict";

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
    bar.setAttribute("role", "tablist");
    var tabs = Array.prototype.slice.call(bar.querySelectorAll(":scope > .tab"));
    tabs.forEach(function (tab, i) {
      var selected = tab.classList.contains("tab--selected");
      tab.setAttribute("role", "tab");
      tab.setAttribute("tabindex", selected ? "0" : "-1");
      tab.setAttribute("aria-selected", selected ? "true" : "false");
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
    // a tab bar with nothing selected yet still needs one stop in the tab order
    if (tabs.length && !tabs.some(function (t) { return t.getAttribute("tabindex") === "0"; })) {
      tabs[0].setAttribute("tabindex", "0");
    }
  }

  function enhanceSorting() {
    var arrows = document.querySelectorAll(".column-header--sort");
    Array.prototype.forEach.call(arrows, function (el) {
      if (el.dataset.kbd) { return; }
      el.dataset.kbd = "1";
      el.setAttribute("role", "button");
      el.setAttribute("tabindex", "0");
      var th = el.closest("th");
      var name = th ? th.textContent.trim() : "this column";
      el.setAttribute("aria-label", "Sort by " + name);
      el.addEventListener("keydown", function (event) { activate(el, event); });
    });
  }

  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      enhanceTabs();
      enhanceSorting();
    });
  }

  function start() {
    schedule();
    new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* fairshare web app: say so on the page when the server cannot be reached.
 *
 * Every figure, the address bar and every download come from the server (Dash callbacks).
 * If a callback request fails (the server was stopped, the network dropped, or it answered
 * with a server error), the controls move but nothing else changes: without this, the page
 * would look up to date while showing old figures. A message (role=alert, so a screen reader
 * announces it) pinned to the top of the window says what happened and what to do; it goes
 * once a later request succeeds. Served by the app itself from assets/; it fetches nothing.
 */
(function () {
  "use strict";

  var ID = "connection-message";
  var failed = false;

  function box() {
    var el = document.getElementById(ID);
    if (!el) {
      el = document.createElement("div");
      el.id = ID;
      el.className = "connection-message";
      el.setAttribute("role", "alert");
      el.hidden = true;
      document.body.insertBefore(el, document.body.firstChild);
    }
    return el;
  }

  function show(why) {
    failed = true;
    var el = box();
    el.innerHTML = "";
    var head = document.createElement("strong");
    head.textContent = "The fairshare server cannot be reached (" + why + "). ";
    var body = document.createElement("span");
    body.textContent = "The figures, tables and address bar still show the last settings the " +
      "server answered for, not the controls as they are now, and downloads cannot be made. " +
      "Check that fairshare serve is still running, then change a setting again or reload " +
      "the page.";
    el.appendChild(head);
    el.appendChild(body);
    el.hidden = false;
    document.documentElement.classList.add("server-unreachable");
  }

  function hide() {
    if (!failed) { return; }
    failed = false;
    var el = box();
    el.hidden = true;
    el.innerHTML = "";
    document.documentElement.classList.remove("server-unreachable");
  }

  var original = window.fetch;
  if (!original) { return; }
  window.fetch = function (input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var watched = String(url).indexOf("_dash-update-component") >= 0;
    var pending = original.apply(this, arguments);
    if (!watched) { return pending; }
    return pending.then(function (response) {
      if (response.status >= 500) { show("it answered with error " + response.status); }
      else { hide(); }
      return response;
    }, function (error) {
      show("no answer");
      throw error;
    });
  };
})();

// fairshare service: move keyboard and screen-reader focus to the error summary when a form
// comes back with problems, so they are heard first (the page works the same without this).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});

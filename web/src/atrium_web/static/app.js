// Progressive enhancement only: every page works without this file.
"use strict";

// The invitation email's link carries its token in the fragment (#token=...), which never reaches a
// server or a Referer header; copy it into the form and take it out of the address bar.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.querySelector("input[data-fragment-token]");
  if (!field) return;
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (token) {
    field.value = token;
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
});

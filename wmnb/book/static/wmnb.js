// wmnb: mark table cells holding a long unbroken token (a path, an id) so wmnb.css lets them wrap inside it.
document.addEventListener("DOMContentLoaded", () => {
  for (const td of document.querySelectorAll("article td")) {
    if (/\S{21,}/.test(td.textContent)) td.classList.add("wmnb-long");
  }
});

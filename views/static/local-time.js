// Shows every server-rendered <time data-local-time> in the reader's own time zone and language;
// without this script the UTC text the server wrote stays.
(() => {
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const element of document.querySelectorAll("time[data-local-time]")) {
    const date = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    element.title = element.textContent;
    element.textContent = format.format(date);
  }
})();

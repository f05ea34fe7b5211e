// Loaded by the API docs page before Redoc (annotator/templates/annotator/api_docs.html). Redoc's menu footer
// draws Redocly's logo from cdn.redoc.ly and no Redoc option turns it off; this page is to ask nothing of any
// other server (it must work offline and on intranets), so that image gets no address and is hidden.
"use strict";
(function () {
  const elsewhere = (value) => String(value).startsWith("https://cdn.redoc.ly/");
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {  // how React sets it
      if (elsewhere(value)) this.hidden = true;
      else src.set.call(this, value);
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "src" && elsewhere(value)) this.hidden = true;
    else setAttribute.call(this, name, value);
  };
})();

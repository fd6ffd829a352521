// /api/docs: Swagger UI on our OpenAPI document. A file of its own, not an inline script,
// so the page keeps the strict Content-Security-Policy (script-src 'self').
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    layout: "BaseLayout", // no top bar: it would offer to load documents from elsewhere
    deepLinking: true,
    validatorUrl: null, // never send our document to a third-party validator
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});

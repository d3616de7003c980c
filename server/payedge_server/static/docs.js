// Starts Swagger UI on GET /docs (api_docs.py). A file, not an inline script: the page's
// Content-Security-Policy allows scripts from this origin only.
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    // No validator badge: it would send the document to an outside service.
    validatorUrl: null,
  });
});

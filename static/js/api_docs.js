// /v1/docs: swagger-ui over the OpenAPI document named by the page (no inline script).
(function () {
  const root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") return;
  SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Deep links put a link inside each operation's expand button: a control in a control, which
    // screen readers cannot announce and keyboards cannot reach on its own.
    deepLinking: false,
    // A bearer credential typed into "Authorize" is sent; cookies never open the API anyway.
    persistAuthorization: false,
    // No badge image from validator.swagger.io: the page loads nothing from other sites.
    validatorUrl: null,
  });
})();

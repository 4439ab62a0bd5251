// Swagger UI for /api/docs: the document's URL and flask-smorest's OPENAPI_SWAGGER_UI_CONFIG come in data- attributes.
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui-container");
  var config = {
    url: box.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    validatorUrl: null,  // the default sends the document to validator.swagger.io
    // "Try it out" from a logged-in browser sends the session cookie, so writes need the CSRF token (to us only).
    requestInterceptor: function (request) {
      if (new URL(request.url, window.location.href).origin === window.location.origin) {
        request.headers["X-CSRFToken"] = box.dataset.csrfToken;
      }
      return request;
    }
  };
  var extra = JSON.parse(box.dataset.config || "{}");
  Object.keys(extra).forEach(function (name) { config[name] = extra[name]; });
  window.ui = SwaggerUIBundle(config);
})();

// Swagger UI for /api/docs: the document's URL and flask-smorest's OPENAPI_SWAGGER_UI_CONFIG come in data- attributes.
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui-container");
  var config = {
    url: box.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    validatorUrl: null  // the default sends the document to validator.swagger.io
  };
  var extra = JSON.parse(box.dataset.config || "{}");
  Object.keys(extra).forEach(function (name) { config[name] = extra[name]; });
  window.ui = SwaggerUIBundle(config);
})();

// Starts GraphiQL with the settings the server wrote into <script id="graphiql-config">.
// Loaded as a file (not inline) so the page runs under `script-src 'self'`.
(function () {
  'use strict';

  var container = document.getElementById('graphiql');

  // The default headers as an object, or null when there are none or they are not a JSON object.
  function headersObject(text) {
    try {
      var value = JSON.parse(text);
      return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
    } catch (error) {
      return null;
    }
  }

  try {
    var config = JSON.parse(document.getElementById('graphiql-config').textContent);
    var defaultHeaders = typeof config.defaultHeaders === 'string' ? config.defaultHeaders : null;
    var fetchGraphQL = GraphiQL.createFetcher({ url: config.endpoint });

    // GraphiQL's first schema introspection runs before its headers editor exists, so it would
    // go out without the default headers (and fail against an endpoint that needs a token).
    // Until GraphiQL first passes headers of its own, an introspection without headers gets the
    // default ones (so does a schema re-fetch after clearing the editor before any request).
    var introspectionHeaders = defaultHeaders === null ? null : headersObject(defaultHeaders);
    var fetcher = function (params, options) {
      if (options && options.headers) {
        introspectionHeaders = null;
      } else if (introspectionHeaders && params && params.operationName === 'IntrospectionQuery') {
        options = Object.assign({}, options, { headers: introspectionHeaders });
      }
      return fetchGraphQL(params, options);
    };

    var props = {
      fetcher: fetcher,
      // The headers editor is on and open. Bearer tokens typed into it are never written to
      // localStorage (with shouldPersistHeaders false GraphiQL also hides its persist toggle).
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    };
    if (defaultHeaders !== null) {
      // Pre-fills the headers editor (and every new tab); development only.
      props.defaultHeaders = defaultHeaders;
    }

    ReactDOM.createRoot(container).render(React.createElement(GraphiQL, props));
  } catch (error) {
    container.textContent = 'GraphiQL failed to start: ' + error;
    throw error;
  }
})();

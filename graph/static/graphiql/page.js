// The inventory API's GraphiQL page: GraphiQL with the explorer plugin, sending requests to the address that
// served the page. A file of its own so that the page's Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  var DEFAULT_QUERY = [
    "# The inventory API. Most fields need a signed-in user.",
    "#",
    "# 1. Sign in: fill in the `login` mutation below and run",
    "#    it (Ctrl-Enter or \u25b6). `inventory serve --demo`",
    "#    prints the demo administrator's password.",
    "# 2. Put the token in the Headers tab below the editor:",
    '#      {"Authorization": "Bearer <token>"}',
    "#    Headers are not saved: reloading clears them.",
    "# 3. Run a query, such as FirstProducts below.",
    "#",
    "# Ctrl-Space completes; the Docs and Explorer buttons",
    "# on the left browse the schema.",
    "",
    "mutation SignIn {",
    '  login(username: "admin", password: "") {',
    "    token",
    "    errors { message }",
    "  }",
    "}",
    "",
    "query FirstProducts {",
    "  products(first: 5) {",
    "    totalCount",
    "    edges { node { sku name } }",
    "  }",
    "}",
    "",
  ].join("\n");
  var HEADERS_HINT = '{\n  "Authorization": "Bearer <token from the login mutation>"\n}';

  // GraphiQL keeps its tabs, history and favourites in localStorage. With shouldPersistHeaders false it leaves
  // the headers out of the tabs, but its history (graphiql:queries, graphiql:favorites) records the headers each
  // run was sent with, bearer tokens included. This storage never writes the headers editor's text
  // (graphiql:headers) and blanks the "headers" of each tab, history entry and favourite (null, not absent:
  // GraphiQL discards stored tabs without the key).
  var NAMESPACE = "graphiql:";
  var HEADERS = NAMESPACE + "headers";
  var WITH_HEADERS = [NAMESPACE + "tabState", NAMESPACE + "queries", NAMESPACE + "favorites"];
  function withoutHeaders(value) {
    try {
      return JSON.stringify(JSON.parse(value), function (key, item) {
        return key === "headers" ? null : item;
      });
    } catch (notJson) {
      return value;
    }
  }
  function graphiqlKeys() {
    return Object.keys(window.localStorage).filter(function (key) {
      return key.indexOf(NAMESPACE) === 0;
    });
  }
  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (key !== HEADERS) {
        window.localStorage.setItem(key, WITH_HEADERS.indexOf(key) >= 0 ? withoutHeaders(value) : value);
      }
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    clear: function () {
      graphiqlKeys().forEach(function (key) {
        window.localStorage.removeItem(key);
      });
    },
    get length() {
      return graphiqlKeys().length;
    },
  };

  // The page is served by the GraphQL endpoint itself; its query string (if any) is not part of the endpoint.
  var endpoint = window.location.origin + window.location.pathname;

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: endpoint }),
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: HEADERS_HINT,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Headers hold bearer tokens: never written to the browser's storage (see `storage` above). The document
      // and variables are kept in localStorage (GraphiQL's tabs and history), never in the URL.
      shouldPersistHeaders: false,
      storage: storage,
      inputValueDeprecation: true,
    })
  );
})();

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
  // run was sent with, bearer tokens included, and every document and its variables, passwords included. This
  // storage never writes the headers or variables editors' text (graphiql:headers, graphiql:variables), blanks
  // the "headers" and "variables" of each tab, history entry and favourite (null, not absent: GraphiQL discards
  // stored tabs without the key) and empties every `password: "..."` written in a stored document.
  var NAMESPACE = "graphiql:";
  var NOT_STORED = [NAMESPACE + "headers", NAMESPACE + "variables"];
  var WITH_SECRETS = [NAMESPACE + "tabState", NAMESPACE + "queries", NAMESPACE + "favorites", NAMESPACE + "query"];
  var PASSWORD_LITERAL = /(password\s*:\s*)"(?:[^"\\]|\\.)*"/g;
  function withoutPassword(document) {
    return document.replace(PASSWORD_LITERAL, '$1""');
  }
  function withoutSecrets(value) {
    try {
      return JSON.stringify(JSON.parse(value), function (key, item) {
        if (key === "headers" || key === "variables") {
          return null;
        }
        return typeof item === "string" && key === "query" ? withoutPassword(item) : item;
      });
    } catch (notJson) {
      return withoutPassword(value); // graphiql:query holds the document as plain text
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
      if (NOT_STORED.indexOf(key) < 0) {
        window.localStorage.setItem(key, WITH_SECRETS.indexOf(key) >= 0 ? withoutSecrets(value) : value);
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
      // Headers hold bearer tokens, variables and documents may hold passwords: neither is written to the
      // browser's storage (see `storage` above). Documents are kept in localStorage (GraphiQL's tabs and
      // history) with their password literals emptied, and never in the URL.
      shouldPersistHeaders: false,
      storage: storage,
      inputValueDeprecation: true,
    })
  );
})();

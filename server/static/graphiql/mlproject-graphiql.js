// ML Project's GraphiQL start-up (ours, not vendored). A file, not an inline script, so the
// page's Content-Security-Policy can be script-src 'self'. It reads the tabs from the page's
// <script type="application/json" id="graphiql-config"> block (data, never executed).
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("graphiql-config").textContent);
  const PLACEHOLDER = /<[^>]*>/; // "Bearer <paste accessToken ...>": a hint, never sent

  // The endpoint is this page's own URL; subscriptions use the same path over WebSocket.
  const url = new URL(window.location.href);
  url.search = "";
  url.hash = "";
  const subscriptionUrl = new URL(url.href);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  const base = GraphiQL.createFetcher({
    url: url.href,
    subscriptionUrl: subscriptionUrl.href,
    enableIncrementalDelivery: false,
  });

  // The token of the last SignUp/Login/RefreshToken answer, or the last one typed in a
  // Headers pane; kept in memory only (gone on reload), used by tabs that set none.
  let rememberedAuthorization = null;

  function splitAuthorization(headers) {
    const rest = {};
    let authorization = null;
    for (const [name, value] of Object.entries(headers || {})) {
      if (name.toLowerCase() !== "authorization") {
        rest[name] = value;
      } else if (typeof value === "string" && value.trim() && !PLACEHOLDER.test(value)) {
        authorization = value.trim();
      }
    }
    return [authorization, rest];
  }

  function rememberTokenFrom(result) {
    const data = result && typeof result === "object" ? result.data : null;
    for (const payload of Object.values(data || {})) {
      if (payload && typeof payload.accessToken === "string") {
        rememberedAuthorization = "Bearer " + payload.accessToken;
      }
    }
  }

  async function fetcher(params, options) {
    const [typed, headers] = splitAuthorization(options && options.headers);
    if (typed) {
      rememberedAuthorization = typed;
    }
    const authorization = typed || rememberedAuthorization;
    if (authorization && params.operationName !== "IntrospectionQuery") {
      headers.Authorization = authorization;
    }
    const result = await base(params, Object.assign({}, options, { headers: headers }));
    rememberTokenFrom(result);
    return result;
  }

  // Tabs and edits persist in localStorage under a key that changes with the documented
  // operations, so a server with new operations opens on its new tabs.
  function namespacedStorage(version) {
    let local = null;
    try {
      local = window.localStorage;
      local.getItem(""); // throws where storage is blocked
    } catch (error) {
      console.warn("GraphiQL: localStorage unavailable, tabs will not persist", error);
      return null;
    }
    const family = "mlproject-graphiql:";
    const prefix = family + version + ":";
    const keys = (wanted) => {
      const found = [];
      for (let i = 0; i < local.length; i++) {
        const key = local.key(i);
        if (key && wanted(key)) found.push(key);
      }
      return found;
    };
    // Forget what earlier versions of the page stored.
    keys((key) => key.startsWith(family) && !key.startsWith(prefix)).forEach((key) =>
      local.removeItem(key),
    );
    const own = () => keys((key) => key.startsWith(prefix));
    return {
      getItem: (key) => local.getItem(prefix + key),
      setItem: (key, value) => local.setItem(prefix + key, value),
      removeItem: (key) => local.removeItem(prefix + key),
      clear: () => own().forEach((key) => local.removeItem(key)),
      get length() {
        return own().length;
      },
    };
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: config.tabs,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: "variables",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
      storage: namespacedStorage(config.version),
    }),
  );
})();

// The REST API (shared/API.md), through the browser's session and CSRF token.
// Offsets in these bodies are code points; document.js converts them.

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message || (body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }

  get isConflict() { return this.status === 409; }
  get isAuth() { return this.status === 401 || this.status === 403; }
  get isNetwork() { return this.status === 0; }
  get isTransient() { return this.status === 0 || this.status >= 500 || this.status === 429; }
}

// Tokens as parallel arrays: a sixth of the default's bytes (shared/API.md's token objects stay the default).
export const COMPACT = "format=compact";

/** A page of tokens as the API gives it, compact ({gap, length, ws}) or not, as [{start, end, ws}] (code points). */
export function tokenObjects(tokens) {
  if (Array.isArray(tokens)) return tokens.map((t) => ({ start: t.start, end: t.end, ws: t.ws }));
  const { gap, length, ws } = tokens;
  const objects = new Array(gap.length);
  let at = 0;
  for (let k = 0; k < gap.length; k++) {
    const start = at + gap[k];
    at = start + length[k];
    objects[k] = { start, end: at, ws: ws[k] === 1 };
  }
  return objects;
}

/**
 * `early`: a GET the page started before its modules arrived ({path, response: fetch()'s promise}; the workspace's
 * _early_fetch.html): the first request for that same path takes its answer instead of asking again.
 */
export function createApi({ base, csrfToken, early = null }) {
  async function request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
    let response;
    try {
      if (early && method === "GET" && path === early.path) {
        const started = early.response;
        early = null;
        response = await started;
      } else {
        // A path relative to /api/v1/, or one the API gave whole (a next page: "/api/v1/...", "https://...").
        response = await fetch(/^(\/|https?:)/.test(path) ? path : base + path, {
          method,
          headers,
          credentials: "same-origin",
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      }
    } catch (error) {
      throw new ApiError(0, null, "The server cannot be reached. Check your connection.");
    }
    if (response.status === 204) return null;
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data, describe(response.status, data));
    return data;
  }

  /**
   * The bundle with its tokens as token objects ({start, end, ws}, code points) and the rest of them fetched and
   * appended, page by page (`tokens_next` is each next page, in the format the bundle was asked in).
   */
  async function withAllTokens(bundle) {
    const tokens = tokenObjects(bundle.tokens);
    let following = bundle.tokens_next;
    while (following) {
      const next = new URL(following, "http://same-origin");  // its path: the page's own origin and scheme
      const page = await request("GET", next.pathname + next.search);
      for (const token of tokenObjects(page.tokens)) tokens.push(token);
      following = page.next;
    }
    return { ...bundle, tokens, tokens_next: null };
  }

  return {
    /** Any other endpoint: request(method, path relative to /api/v1/, body?). */
    request,
    /** The next document bundle, or null when nothing is left; `skip` lists document ids to pass over. */
    async next(projectId, skip = []) {
      const query = skip.length ? `&skip=${skip.join(",")}` : "";
      const bundle = await request("GET", `projects/${projectId}/next/?${COMPACT}${query}`);
      return bundle && withAllTokens(bundle);
    },
    /** A bundle (/next/'s, the review page's) with all its document's tokens: long documents' come in pages. */
    withAllTokens,
    /** The user's own view of the project: counts and a page of their documents (my-documents). */
    myDocuments(projectId, { page = 1, pageSize = 100, document = null } = {}) {
      const about = document === null ? "" : `&document=${document}`;
      return request("GET", `projects/${projectId}/my-documents/?page=${page}&page_size=${pageSize}${about}`);
    },
    /** The same bundle as next() for one given document (Back, a #document= link), in one request. */
    async bundle(projectId, documentId) {
      return withAllTokens(await request("GET", `projects/${projectId}/documents/${documentId}/bundle/?${COMPACT}`));
    },
    annotation: (documentId) => request("GET", `documents/${documentId}/annotation/`),
    saveAnnotation: (documentId, body) => request("PUT", `documents/${documentId}/annotation/`, body),
    rejectSuggestion: (suggestionId) => request("PUT", `suggestions/${suggestionId}/rejection/`),
    unrejectSuggestion: (suggestionId) => request("DELETE", `suggestions/${suggestionId}/rejection/`),
  };
}

function describe(status, data) {
  if (status === 401) return "You are logged out. Log in again in another tab; your work here is kept and saved then.";
  if (status === 403 && data && typeof data.detail === "string" && data.detail.includes("CSRF")) {
    return "Your session changed (CSRF). Log in again in another tab; your work here is kept and saved then.";
  }
  if (data && typeof data.detail === "string") return data.detail;
  if (data && typeof data === "object") {
    return Object.entries(data).map(([field, problem]) => `${field}: ${[].concat(problem).join(" ")}`).join("; ");
  }
  return `The server answered ${status}.`;
}

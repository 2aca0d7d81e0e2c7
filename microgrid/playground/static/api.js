// The playground's calls to the Python side, over HTTP (the web app). The notebook widget has its
// own object with the same methods (widget.js); ui.js uses whichever it is given.

export class ApiError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field || "";
  }
}

export class HttpApi {
  constructor(sessionId) {
    this.base = `/api/s/${encodeURIComponent(sessionId)}`;
  }

  static async create() {
    const answer = await request("POST", "/api/session", {});
    const api = new HttpApi(answer.id);
    api.settings = answer.settings;
    api.choices = answer.choices;
    return api;
  }

  state(since, data, run) {
    const query = new URLSearchParams({ since: String(since), data: data || "", run: String(run) });
    return request("GET", `${this.base}/state?${query}`);
  }
  configure(values) { return request("POST", `${this.base}/settings`, values); }
  control(action) { return request("POST", `${this.base}/control`, { action }); }
  point(x1, x2, label) { return request("POST", `${this.base}/point`, { x1, x2, label }); }
  // The file's bytes as they are: the server names a file that is not UTF-8 text, where the
  // browser's decoding would have replaced the bad bytes silently.
  csv(file) { return request("POST", `${this.base}/csv`, file, "text/csv"); }
  graph(expanded) {
    return request("GET", `${this.base}/graph?expand=${encodeURIComponent([...expanded].join(","))}`);
  }
  node(key) { return request("GET", `${this.base}/node/${encodeURIComponent(key)}`); }
  backprop(index) { return request("GET", `${this.base}/backprop?index=${index}`); }
  exportUrl(kind) { return `${this.base}/export.${kind}`; }
  // As the page goes away: keepalive lets the request outlive it (sendBeacon cannot send JSON).
  close() {
    fetch(`${this.base}/close`, {
      method: "POST", keepalive: true, headers: { "Content-Type": "application/json" }, body: "{}",
    }).catch(() => {});
  }
}

async function request(method, url, body, type) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.body = typeof body === "string" || body instanceof Blob ? body : JSON.stringify(body);
    options.headers["Content-Type"] = type || "application/json";
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new ApiError("The playground server does not answer: is it still running?");
  }
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    throw new ApiError(`The server answered ${response.status} without JSON`);
  }
  if (!response.ok) throw new ApiError(answer.error || `Error ${response.status}`, answer.field);
  return answer;
}

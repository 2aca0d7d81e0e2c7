// The web app's entry: a session of its own for this tab, the page mounted on it, and the session
// closed when the tab goes away (the server also ends it when the polling stops).

import { HttpApi } from "./api.js";
import { mount } from "./ui.js";

async function start() {
  const root = document.getElementById("app");
  try {
    const api = await HttpApi.create();
    mount(root, api);
    window.addEventListener("pagehide", () => api.close());
  } catch (error) {
    root.textContent = `The playground could not start: ${error.message}`;
  }
}

start();

// The notebook widget's front end (anywidget): the page of ui.js, its calls sent as widget messages
// to the kernel, which answers each with the same JSON the web app would (widget.py).

import { ApiError } from "./api.js";
import { mount } from "./ui.js";

class WidgetApi {
  constructor(model) {
    this.model = model;
    this.settings = model.get("_settings");
    this.choices = model.get("_choices");
    this.pending = new Map();
    this.next = 1;
    model.on("msg:custom", (message) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiting.reject(new ApiError(message.error, message.field));
      else waiting.resolve(message.result);
    });
  }

  call(method, ...args) {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.model.send({ id, method, args });
    });
  }

  state(since, data, run) { return this.call("state", since, data || "", run); }
  configure(values) { return this.call("configure", values); }
  control(action) { return this.call("control", action); }
  point(x1, x2, label) { return this.call("point", x1, x2, label); }
  async csv(file) { return this.call("csv", await file.text()); }
  graph(expanded) { return this.call("graph", [...expanded]); }
  node(key) { return this.call("node", key); }
  backprop(index) { return this.call("backprop", index); }
  exportUrl() { return null; } // in a notebook: w.save_script(path), w.save_weights(path)
  close() {}
}

export default {
  render({ model, el }) {
    const ui = mount(el, new WidgetApi(model));
    return () => ui.stop();
  },
};

// What the first text needs, asked for the moment this module arrives: annotate.html runs it as an async module
// ({% module_script ... early= %}), so it does not wait for the page to be parsed, for its style sheets or for
// the workspace's other modules to arrive and run. The same requests as Workspace.opening() (workspace.js),
// which main.js hands these answers to.

import { createApi } from "./api.js";
import { Trail } from "./trail.js";

export const config = JSON.parse(document.getElementById("workspace-config").textContent);
export const api = createApi({ base: config.api, csrfToken: document.querySelector('meta[name="csrf-token"]').content });

const match = /document=(\d+)/.exec(window.location.hash);
const id = match ? Number(match[1]) : null;
export const opening = {
  id,
  project: Promise.all([api.project(config.project), api.labels(config.project)]),
  first: id !== null ? api.bundle(config.project, id) : api.next(config.project, new Trail(config.project).skipped),
};
// Answered before main.js listens: handled there (Workspace.start), not "uncaught" meanwhile.
opening.project.catch(() => {});
opening.first.catch(() => {});

// The first document, asked for the moment this module arrives: annotate.html runs it as an async module
// ({% module_script ... early= %}), so it does not wait for the page to be parsed, for its style sheets or for
// the workspace's other modules to arrive and run (the project and its labels come with the page, in its
// config). The same request as Workspace.opening() (workspace.js), which main.js hands the answer to. The page's
// inline script (_early_fetch.html) has usually sent that request already, while the HTML was parsed: the api
// made here takes its answer (createApi's `early`) instead of asking again.

import { createApi } from "./api.js";
import { Trail } from "./trail.js";

export const config = JSON.parse(document.getElementById("workspace-config").textContent);
export const api = createApi({ base: config.api, csrfToken: document.querySelector('meta[name="csrf-token"]').content,
                               early: window.annotatorEarly || null });

const match = /document=(\d+)/.exec(window.location.hash);
const id = match ? Number(match[1]) : null;
export const opening = {
  id,
  project: Promise.resolve([config.initial.project, config.initial.labels]),
  first: id !== null ? api.bundle(config.project, id) : api.next(config.project, new Trail(config.project).skipped),
};
// Answered before main.js listens: handled there (Workspace.start), not "uncaught" meanwhile.
opening.first.catch(() => {});

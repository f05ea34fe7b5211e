// Entry point of the annotation page (annotator/templates/annotator/annotate.html).

import { createApi } from "./api.js";
import { Workspace } from "./workspace.js";

const config = JSON.parse(document.getElementById("workspace-config").textContent);
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const root = document.querySelector('[data-ws="root"]');
const workspace = new Workspace(root, { api: createApi({ base: config.api, csrfToken }), config });
// The live workspace, for the browser tests, the benchmark and the curious.
window.annotator = workspace;
workspace.ready = workspace.start();

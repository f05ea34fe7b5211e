// Entry point of the annotation page (annotator/templates/annotator/annotate.html). prefetch.js, run before
// this, has already asked for the project and the first document.

import { api, config, opening } from "./prefetch.js";
import { Workspace } from "./workspace.js";

const root = document.querySelector('[data-ws="root"]');
const workspace = new Workspace(root, { api, config });
// The live workspace, for the browser tests, the benchmark and the curious.
window.annotator = workspace;
workspace.ready = workspace.start(opening);

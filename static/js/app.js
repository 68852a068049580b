// The review workspace and other pages that save as the user types: autosave, focus and drafts.
"use strict";

// Form checks the browser does before sending (bad dates typed into date pickers...). The server
// checks everything again; this only keeps what the user typed from being sent as something else.
"use strict";

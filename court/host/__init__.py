"""One hearing running inside the server (`court serve`): the host the routes call, the remote
parties' lobby, the door check during the start, caucus, the director's commands and the registry
of running hearings."""

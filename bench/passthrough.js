// The bench floor: a bare Worker that forwards the request body to UPSTREAM_URL and returns the response as is.
export default {
  async fetch(request, env) {
    return fetch(env.UPSTREAM_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: request.body,
    });
  },
};

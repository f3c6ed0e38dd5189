// The JSON API client: one fetch wrapper that sends the optional API token and turns an
// error response into an ApiError whose message is the API's detail in words.

export const TOKEN_KEY = 'stocklean.apiToken';

export class ApiError extends Error {
  constructor(status, detail) {
    super(formatDetail(detail, status));
    this.status = status;
    this.detail = detail;
  }
}

// The API's error detail in words: a string as is; a validation list as "field: msg" lines,
// the field being the loc without its leading "body" (or "query"/"path").
export function formatDetail(detail, status) {
  if (detail == null || detail === '') return `request failed (HTTP ${status})`;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      const loc = Array.isArray(item.loc) ? [...item.loc] : [];
      if (['body', 'query', 'path'].includes(loc[0])) loc.shift();
      const msg = item.msg ?? JSON.stringify(item);
      return loc.length ? `${loc.join('.')}: ${msg}` : msg;
    }).join('\n');
  }
  return JSON.stringify(detail);
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server (${err.message})`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? text.slice(0, 300));
  return data;
}

// The token field in the top bar: kept in localStorage, sent with every request.
export function initToken(input) {
  input.value = localStorage.getItem(TOKEN_KEY) ?? '';
  input.addEventListener('change', () => {
    const value = input.value.trim();
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  });
}

/**
 * The name under which an imported file is shown on public pages and in the API: its base name
 * only. The name recorded at import is the command-line argument, which may be a local path (which
 * says where the files live on the server) or an address with a signed query string (a credential);
 * neither belongs on an open page. A zip entry, recorded as `archive › entry`, keeps both base
 * names.
 */
export function publicFileName(recorded: string): string {
  return recorded
    .split(' › ')
    .map((part) => baseName(part.trim()))
    .join(' › ');
}

function baseName(part: string): string {
  let pathPart = part;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(part)) {
    try {
      pathPart = new URL(part).pathname;
    } catch {
      // Not a valid address: drop anything from the query string or fragment on.
      pathPart = part.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/s, '');
    }
    const last = pathPart.split('/').filter(Boolean).pop() ?? '';
    try {
      pathPart = decodeURIComponent(last);
    } catch {
      pathPart = last;
    }
  }
  return pathPart.split(/[\\/]/).filter(Boolean).pop() ?? '';
}

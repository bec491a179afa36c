// The page's session mirrored into IndexedDB, the one storage a service worker can read (localStorage it
// cannot): web/sw.ts reads it to fetch a message a push names without its text. Same names there.
const DB = "echat";
const STORE = "session";
const KEY = "current";

function withStore(mode: IDBTransactionMode, act: (s: IDBObjectStore) => IDBRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(STORE, mode);
      act(tx.objectStore(STORE));
      tx.oncomplete = () => (db.close(), resolve());
      tx.onerror = tx.onabort = () => (db.close(), reject(tx.error));
    };
  });
}

export const saveSession = (session: string) => withStore("readwrite", (s) => s.put(session, KEY));
export const clearSession = () => withStore("readwrite", (s) => s.delete(KEY));

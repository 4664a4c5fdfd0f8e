// OpenPGP.js side of hub/pgp's interoperability test (openpgpjs_test.go).
//
// Reads one JSON request on standard input and writes one JSON answer on
// standard output; exits non-zero with a message on standard error on failure.
//
//   {"op":"generate","name":..,"email":..,"passphrase":..}
//     -> {"publicKey":..,"privateKey":..}          (default v4 curve25519 key, locked)
//   {"op":"encrypt","text":..,"recipients":[armored public keys],
//    "signingKey":armored private key,"passphrase":..}
//     -> {"message":armored message}             (signed inside the encryption)
//   {"op":"decrypt","message":..,"privateKey":..,"passphrase":..,
//    "verificationKeys":[armored public keys]}
//     -> {"text":..,"signatures":[{"keyID":..,"verified":bool,"error":..}]}
import * as openpgp from 'openpgp';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function unlock(armoredKey, passphrase) {
  const privateKey = await openpgp.readPrivateKey({ armoredKey });
  return openpgp.decryptKey({ privateKey, passphrase });
}

async function main() {
  const req = JSON.parse(await readStdin());
  switch (req.op) {
    case 'generate': {
      const { privateKey, publicKey } = await openpgp.generateKey({
        userIDs: [{ name: req.name, email: req.email }],
        passphrase: req.passphrase,
        format: 'armored',
      });
      return { publicKey, privateKey };
    }
    case 'encrypt': {
      const encryptionKeys = await Promise.all(
        req.recipients.map((armoredKey) => openpgp.readKey({ armoredKey })));
      const signingKeys = await unlock(req.signingKey, req.passphrase);
      const message = await openpgp.createMessage({ text: req.text });
      return { message: await openpgp.encrypt({ message, encryptionKeys, signingKeys }) };
    }
    case 'decrypt': {
      const decryptionKeys = await unlock(req.privateKey, req.passphrase);
      const verificationKeys = await Promise.all(
        (req.verificationKeys || []).map((armoredKey) => openpgp.readKey({ armoredKey })));
      const message = await openpgp.readMessage({ armoredMessage: req.message });
      const { data, signatures } = await openpgp.decrypt({ message, decryptionKeys, verificationKeys });
      const sigs = [];
      for (const sig of signatures) {
        const out = { keyID: sig.keyID.toHex().toUpperCase(), verified: false, error: '' };
        try {
          out.verified = await sig.verified;
        } catch (e) {
          out.error = e.message;
        }
        sigs.push(out);
      }
      return { text: data, signatures: sigs };
    }
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

main().then(
  (answer) => process.stdout.write(JSON.stringify(answer)),
  (err) => {
    process.stderr.write(`openpgpjs: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });

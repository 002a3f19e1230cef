// ollama-js (the official JavaScript client) against a running mock: node ollama_js.mjs URL [TOKEN]
// Prints one line per step and exits 1 at the first step that does not behave like real Ollama.
import { Ollama } from 'ollama'

const [url, token] = process.argv.slice(2)
const client = new Ollama({ host: url, headers: token ? { Authorization: `Bearer ${token}` } : {} })
const model = 'smollm2:360m'

function expect(step, condition, detail) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${step}: ${detail}`)
  if (!condition) process.exit(1)
}

const names = async () => (await client.ps()).models.map((entry) => entry.name)

const before = await client.ps()
expect('ps', Array.isArray(before.models) && before.models.every((m) => typeof m.expires_at === 'string'),
  JSON.stringify(before.models.map((m) => [m.name, m.size_vram, m.context_length])))
expect('version', /^\d+\.\d+\.\d+/.test((await client.version()).version), 'a release version')
expect('list', (await client.list()).models.some((m) => m.name === model), `${model} installed`)

const loaded = await client.generate({ model, prompt: '', keep_alive: '1m' })
expect('load', loaded.done === true && loaded.done_reason === 'load', JSON.stringify(loaded))
expect('ps after load', (await names()).includes(model), (await names()).join(', '))

let text = ''
for await (const part of await client.generate({ model, prompt: 'Why is the sky blue?', stream: true })) {
  text += part.response
}
expect('streamed generate', text.length > 0, JSON.stringify(text))
const chat = await client.chat({ model, messages: [{ role: 'user', content: 'hi' }] })
expect('chat', chat.message.role === 'assistant' && chat.message.content.length > 0, JSON.stringify(chat.message))

const unloaded = await client.generate({ model, prompt: '', keep_alive: 0 })
expect('unload', unloaded.done_reason === 'unload', JSON.stringify(unloaded))
expect('ps after unload', !(await names()).includes(model), (await names()).join(', '))

try {
  await client.generate({ model: 'no-such-model:1b', prompt: '' })
  expect('unknown model', false, 'no error raised')
} catch (error) {
  expect('unknown model', error.name === 'ResponseError' && error.status_code === 404, `${error.name} ${error.status_code} ${error.message}`)
}

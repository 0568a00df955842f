# Loads an `icosfl model export` folder with plain PyTorch (no safetensors package) and prints IcosFl's forecast.
# usage: python3 load_exported_model.py DIR "v1,v2,...(the node's latest points)" HORIZON
import json, struct, sys, torch

folder, values, horizon = sys.argv[1], [float(v) for v in sys.argv[2].split(",")], int(sys.argv[3])
raw = open(f"{folder}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]                      # 8-byte little-endian header length
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
state = {k: torch.frombuffer(bytearray(data[t["data_offsets"][0]:t["data_offsets"][1]]), dtype=torch.float32).reshape(t["shape"])
         for k, t in header.items() if k != "__metadata__"}
meta = json.load(open(f"{folder}/model.json"))
hidden, layers = meta["architecture"]["hiddenSize"], meta["architecture"]["numLayers"]
lstm, linear = torch.nn.LSTM(1, hidden, layers, batch_first=True), torch.nn.Linear(hidden, 1)
torch.nn.ModuleDict({"lstm": lstm, "linear": linear}).load_state_dict(state)   # strict: names and shapes must match
lo, hi = meta["scaler"]["min"], meta["scaler"]["max"]
scale = hi - lo if hi > lo else 1.0
window = torch.tensor([(v - lo) / scale for v in values[-meta["timeStep"]:]], dtype=torch.float32).reshape(1, -1, 1)
forecast = []
with torch.no_grad():
    for _ in range(horizon):                              # recursive: each prediction joins the window
        nxt = linear(lstm(window)[0][:, -1, :])           # last time step -> Linear
        forecast.append(nxt.item() * scale + lo)
        window = torch.cat([window[:, 1:, :], nxt.reshape(1, 1, 1)], dim=1)
print(json.dumps(forecast))

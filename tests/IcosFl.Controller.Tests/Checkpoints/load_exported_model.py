# Loads an `icosfl model export` folder with plain PyTorch (no safetensors package) and prints IcosFl's forecast.
# usage: python3 load_exported_model.py DIR "v1,v2,...[;w1,w2,...]" HORIZON
#   one list of the node's latest points per input metric, in model.json's "inputs" order (forecast metric first)
import json, struct, sys, torch

folder, horizon = sys.argv[1], int(sys.argv[3])
series = [[float(v) for v in s.split(",")] for s in sys.argv[2].split(";")]
raw = open(f"{folder}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]                      # 8-byte little-endian header length
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
state = {k: torch.frombuffer(bytearray(data[t["data_offsets"][0]:t["data_offsets"][1]]), dtype=torch.float32).reshape(t["shape"])
         for k, t in header.items() if k != "__metadata__"}
meta = json.load(open(f"{folder}/model.json")); a = meta["architecture"]
lstm, linear = torch.nn.LSTM(a["inputSize"], a["hiddenSize"], a["numLayers"], batch_first=True), torch.nn.Linear(a["hiddenSize"], a["outputSize"])
torch.nn.ModuleDict({"lstm": lstm, "linear": linear}).load_state_dict(state)   # strict: names and shapes must match
scalers = [meta["scaler"]] + meta.get("inputScalers", [])  # forecast metric first, then each input metric
lo = torch.tensor([s["min"] for s in scalers])
scale = torch.tensor([s["max"] - s["min"] if s["max"] > s["min"] else 1.0 for s in scalers])
window = ((torch.tensor([s[-meta["timeStep"]:] for s in series]).T - lo) / scale).unsqueeze(0)   # [1, time, inputs]
forecast, T = [], meta["timeStep"]
with torch.no_grad():
    while len(forecast) < horizon:                        # the direct head gives outputSize steps at once; beyond, recursive
        out = linear(lstm(window)[0][:, -1, :]) + window[:, -1, :1]   # last time step -> Linear: changes from the last value
        block = out[:, :horizon - len(forecast)]
        forecast += [v * scale[0].item() + lo[0].item() for v in block[0].tolist()]
        held = window[:, -1:, 1:].expand(1, block.shape[1], -1)   # input metrics held at their last value
        window = torch.cat([window, torch.cat([block.unsqueeze(2), held], dim=2)], dim=1)[:, -T:, :]
print(json.dumps(forecast))
